"""Leaked tokens in the admin: the token list's filter and the dashboard's latest reports."""

from tokens.domain import lifecycle
from tokens.leaks.reports import Report, Source, report_leaks

PASTE = "https://paste.example/raw/abc123"


def test_the_token_list_filters_tokens_revoked_as_leaked(
    as_admin, alice, alice_token, sync_service_token
):
    report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITHUB)
    lifecycle.revoke_token(sync_service_token.token, by=alice, reason="no longer needed")

    page = as_admin.get("/admin/tokens/referencetoken/?leaked=yes")

    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    assert shown == [alice_token.token]
    assert "Revoked as leaked" in page.content.decode()


def test_the_dashboard_shows_the_latest_reports(as_admin, alice_token):
    report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITLAB)

    page = as_admin.get("/admin/").content.decode()

    assert "Latest leak reports" in page
    assert alice_token.token.masked in page
    assert "GitLab token revocation" in page
    assert PASTE in page
    assert "?leaked=yes" in page


def test_the_dashboard_has_no_report_section_without_reports(as_admin, alice_token):
    assert "Latest leak reports" not in as_admin.get("/admin/").content.decode()

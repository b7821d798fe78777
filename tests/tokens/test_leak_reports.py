"""A token reported as leaked is revoked at once, its owner told once where it leaked."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.locmem import EmailBackend
from prometheus_client import REGISTRY

from tests.helpers import signed_in
from tokens.domain import lifecycle
from tokens.format import make_token
from tokens.leaks.reports import Outcome, Report, Source, leak_url, report_leaks
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder

PASTE = "https://paste.example/raw/abc123"


class FailingForBob(EmailBackend):
    """A mail server that refuses bob's messages and delivers the others (to mail.outbox)."""

    def send_messages(self, messages):
        if any("bob@example.com" in message.to for message in messages):
            raise ConnectionRefusedError("the mail server refused bob")
        return super().send_messages(messages)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Notices go once the revocation is committed: run them, as a real commit would."""
    mail.outbox.clear()
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_a_reported_token_is_revoked_as_leaked_with_its_source_and_url(alice_token, on_commit):
    with on_commit():
        outcomes = report_leaks(
            [Report(alice_token.plaintext, PASTE)], source=Source.GITHUB, ip="192.0.2.1"
        )

    assert outcomes == [Outcome.REVOKED]
    assert check_for_holder(alice_token.plaintext) is None
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert (token.revocation_reason, token.revoked_by) == ("leaked", None)
    event = token.events.get(action=TokenEvent.Action.REVOKED)
    assert (event.detail, event.leak_source, event.leak_url, event.ip) == (
        "leaked",
        "github",
        PASTE,
        "192.0.2.1",
    )


def test_the_owner_gets_one_e_mail_naming_the_token_and_the_url(alice_token, on_commit):
    with on_commit():
        report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITHUB)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert (
        message.subject
        == "Action needed: 1 access token of yours was reported as leaked and revoked"
    )
    assert alice_token.token.masked in message.body
    assert PASTE in message.body
    assert "GitHub secret scanning" in message.body
    assert "Check the logs of the application" in message.body
    assert alice_token.plaintext not in message.body
    assert PASTE in message.alternatives[0][0]


def test_a_token_reported_again_is_still_ours_but_sends_no_second_e_mail(alice_token, on_commit):
    with on_commit():
        report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITHUB)
    with on_commit():
        again = report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITLAB)

    assert again == [Outcome.ALREADY_REVOKED]
    assert len(mail.outbox) == 1
    assert TokenEvent.objects.filter(action=TokenEvent.Action.REVOKED).count() == 1


def test_a_token_revoked_before_is_a_true_positive_without_an_e_mail(alice_token, alice, on_commit):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="done with it")
    with on_commit():
        outcomes = report_leaks([Report(alice_token.plaintext)], source=Source.HOLDER)

    assert outcomes == [Outcome.ALREADY_REVOKED]
    assert outcomes[0].true_positive
    assert mail.outbox == []
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revocation_reason == "done with it"


def test_a_service_token_s_report_goes_to_its_creator_and_operations(
    sync_service_token, settings, on_commit
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    with on_commit():
        report_leaks([Report(sync_service_token.plaintext, PASTE)], source=Source.GITLAB)

    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "ops@example.com"]
    assert all(PASTE in m.body for m in mail.outbox)


def test_unknown_and_malformed_tokens_are_false_positives_and_cost_one_query(
    db, django_assert_num_queries
):
    with django_assert_num_queries(1):
        outcomes = report_leaks(
            [Report(make_token()), Report("enrt_" + "0" * 64), Report("hello")],
            source=Source.GITHUB,
        )

    assert outcomes == [Outcome.UNKNOWN, Outcome.MALFORMED, Outcome.MALFORMED]
    assert not any(o.true_positive for o in outcomes)


def test_a_failing_e_mail_never_stops_the_other_revocations(
    alice_token, bob, sync_app, in_30_days, settings, on_commit
):
    bob_token = lifecycle.issue_personal(user=bob, application=sync_app, expires_at=in_30_days)
    settings.EMAIL_BACKEND = "tests.tokens.test_leak_reports.FailingForBob"
    mail.outbox = []

    with on_commit():
        outcomes = report_leaks(
            [Report(bob_token.plaintext, PASTE), Report(alice_token.plaintext, PASTE)],
            source=Source.GITHUB,
        )

    assert outcomes == [Outcome.REVOKED, Outcome.REVOKED]
    assert ReferenceToken.objects.revoked().count() == 2
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_the_history_page_shows_the_report(alice_token, alice):
    report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.HOLDER)

    page = signed_in(alice).get(f"/profile/security/tokens/{alice_token.token.pk}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "reported by whoever held it" in text
    assert f'href="{PASTE}"' in text


def test_the_audit_trail_in_the_admin_shows_the_report(alice_token, admin_user):
    report_leaks([Report(alice_token.plaintext, PASTE)], source=Source.GITHUB)

    page = signed_in(admin_user).get("/admin/tokens/tokenevent/?action__exact=revoked")

    assert "leaked (reported by GitHub secret scanning, seen at " + PASTE in page.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "/relative/path",
        "javascript:alert(1)",
        "https://" + "a" * 2000,
        "https://x.example/a\x00b",
        "https://x.example/\ud800",
        "https://x.example/\u202e",
    ],
)
def test_only_absolute_http_urls_of_bounded_length_are_kept(url):
    with pytest.raises(ValidationError, match="url"):
        leak_url(url)


def test_metrics_count_reports_by_source_and_outcome(client, alice_token):
    def count(outcome: str) -> float:
        labels = {"source": "holder", "outcome": outcome}
        return REGISTRY.get_sample_value("portal_leak_reports_total", labels) or 0.0

    before = {o: count(o) for o in ("revoked", "already_revoked", "malformed")}
    for token in (alice_token.plaintext, alice_token.plaintext, "garbage"):
        client.post(
            "/connect/revocation",
            {"token": token, "reason": "leaked"},
            content_type="application/json",
        )

    assert {o: count(o) - before[o] for o in before} == {
        "revoked": 1,
        "already_revoked": 1,
        "malformed": 1,
    }
    scraped = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'portal_leak_reports_total{outcome="revoked",source="holder"}' in scraped


def test_reports_of_one_token_at_once_revoke_it_once_and_send_one_e_mail(
    race, alice, sync_app, in_30_days
):
    # PostgreSQL only (`race`): GitHub and GitLab may report the same token at the same moment.
    token = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=in_30_days)
    mail.outbox.clear()

    outcomes = race(
        lambda i: report_leaks([Report(token.plaintext, PASTE)], source=Source.GITHUB)[0]
    )

    assert sorted(outcomes) == sorted([Outcome.REVOKED] + [Outcome.ALREADY_REVOKED] * 7)
    assert TokenEvent.objects.filter(action=TokenEvent.Action.REVOKED).count() == 1
    assert len(mail.outbox) == 1

"""All tokens: columns, filters, search, read-only pages, and a constant cost as rows grow."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from tests.helpers import grant, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken

LIST = "/admin/tokens/referencetoken/"


def listed(client, query: str = "") -> list[ReferenceToken]:
    response = client.get(LIST + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_it_shows_hint_description_owner_app_kind_status_and_dates(
    as_admin, alice_token, sync_service_token
):
    page = as_admin.get(LIST).content.decode()
    for column in ("Token", "Description", "User", "Application", "Status", "Expires"):
        assert column in page
    assert "Last used" in page
    assert alice_token.token.masked in page and sync_service_token.token.masked in page
    assert "laptop sync" in page and "nightly job" in page
    assert "Personal" in page and "Service" in page  # the kind, under the hint
    # The portal's one date format.
    assert f"{alice_token.token.expires_at:%-d %b %Y}" in page
    assert alice_token.plaintext not in page
    assert alice_token.token.token_hash not in page


def test_revoked_tokens_stay_listed(as_admin, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert [t.pk for t in listed(as_admin)] == [alice_token.token.pk]
    assert "Revoked" in as_admin.get(LIST).content.decode()


def test_it_filters_by_kind_and_application(
    as_admin, alice, alice_token, sync_service_token, reports_app, in_30_days, carol
):
    report = lifecycle.issue_service(
        admin=carol, application=reports_app, expires_at=in_30_days
    ).token
    assert {t.pk for t in listed(as_admin, "?kind__exact=personal")} == {alice_token.token.pk}
    assert {t.pk for t in listed(as_admin, f"?application__id__exact={reports_app.pk}")} == {
        report.pk
    }


def test_it_filters_by_status(as_admin, alice, sync_app, in_30_days):
    def issue(description: str) -> ReferenceToken:
        return lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=in_30_days, description=description
        ).token

    live, expired, revoked = issue("live"), issue("expired"), issue("revoked")
    ReferenceToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    lifecycle.revoke_token(revoked, by=alice)
    assert [t.pk for t in listed(as_admin, "?status=live")] == [live.pk]
    assert [t.pk for t in listed(as_admin, "?status=expired")] == [expired.pk]
    assert [t.pk for t in listed(as_admin, "?status=revoked")] == [revoked.pk]


def test_the_live_filter_says_what_it_lists_neither_revoked_nor_expired(as_admin, alice_token):
    # It once read "Active" and listed tokens the status rule calls suspended.
    alice_token.token.application.is_enabled = False
    alice_token.token.application.save()

    response = as_admin.get(f"{LIST}?status=live")

    changelist = response.context["cl"]
    [token] = changelist.result_list
    assert token.state.label == "Suspended: the application is disabled"
    status = next(spec for spec in changelist.filter_specs if spec.title == "status")
    choices = [choice["display"] for choice in status.choices(changelist)]
    assert choices == ["All", "Current", "Expired", "Revoked"]


def test_it_filters_tokens_expiring_within_7_days(as_admin, alice, sync_app):
    def issue(days: int) -> ReferenceToken:
        return lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry_in_days(days)
        ).token

    soon, later = issue(7), issue(8)
    revoked_soon = issue(2)
    lifecycle.revoke_token(revoked_soon, by=alice)
    assert [t.pk for t in listed(as_admin, "?expires=7d")] == [soon.pk]
    assert later.pk not in {t.pk for t in listed(as_admin, "?expires=7d")}


def test_it_filters_tokens_unused_for_90_days(as_admin, alice, sync_app, in_30_days):
    now = timezone.now()

    def issue(created_days_ago: int, used_days_ago: int | None) -> ReferenceToken:
        token = lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=in_30_days
        ).token
        used = now - timedelta(days=used_days_ago) if used_days_ago is not None else None
        ReferenceToken.objects.filter(pk=token.pk).update(
            created_at=now - timedelta(days=created_days_ago), last_used_at=used
        )
        return token

    stale = issue(200, 100)
    never_used_old = issue(120, None)
    issue(200, 10)  # used recently
    issue(10, None)  # new, not used yet
    assert {t.pk for t in listed(as_admin, "?unused=90d")} == {stale.pk, never_used_old.pk}


def test_it_searches_by_description_username_uri_and_hint(
    as_admin, alice_token, sync_service_token, reports_app, carol, in_30_days
):
    lifecycle.issue_service(admin=carol, application=reports_app, expires_at=in_30_days)
    token = alice_token.token
    assert [t.pk for t in listed(as_admin, "?q=laptop")] == [token.pk]
    assert [t.pk for t in listed(as_admin, "?q=alice")] == [token.pk]
    assert len(listed(as_admin, "?q=com.example/sync")) == 2
    for hint in (token.hint, token.masked, f"…{token.hint}", f"...{token.hint.lower()}"):
        assert token.pk in [t.pk for t in listed(as_admin, "?" + _q(hint))]


def test_pasting_a_whole_token_finds_it_by_its_hint_without_echoing_it(
    as_admin, alice_token, sync_service_token
):
    response = as_admin.get(LIST + "?" + _q(alice_token.plaintext))
    assert response.status_code == 302
    assert alice_token.plaintext not in response["Location"]
    found = as_admin.get(response["Location"])
    assert alice_token.plaintext not in found.content.decode()
    assert [t.pk for t in found.context["cl"].result_list] == [alice_token.token.pk]


def _q(term: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": term})


def test_there_is_no_add_edit_or_delete(as_admin, alice_token):
    pk = alice_token.token.pk
    assert as_admin.get(LIST + "add/").status_code == 403
    assert as_admin.get(f"{LIST}{pk}/delete/").status_code == 403
    response = as_admin.post(f"{LIST}{pk}/change/", {"description": "changed"})
    assert response.status_code == 403
    alice_token.token.refresh_from_db()
    assert alice_token.token.description == "laptop sync"
    page = as_admin.get(f"{LIST}{pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert "delete_selected" not in as_admin.get(LIST).content.decode()


def test_the_token_page_links_to_its_events_and_revoke(as_admin, alice_token):
    pk = alice_token.token.pk
    page = as_admin.get(f"{LIST}{pk}/change/").content.decode()
    assert f"/admin/tokens/tokenevent/?token__id__exact={pk}" in page
    assert f"{LIST}{pk}/revoke/" in page
    assert alice_token.token.token_hash not in page


def test_staff_with_view_permission_see_tokens_but_cannot_revoke(alice_token):
    viewer = grant(
        User.objects.create_user("vic", "vic@example.com", "x", is_staff=True),
        "view_referencetoken",
    )
    client = signed_in(viewer)
    page = client.get(LIST).content.decode()
    assert alice_token.token.masked in page
    assert "revoke_tokens" not in page


def test_staff_without_permission_get_403(erin, alice_token):
    client = signed_in(erin)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{alice_token.token.pk}/change/").status_code == 403


def test_the_query_count_stays_constant_as_rows_grow(as_admin, alice, bob, sync_app, reports_app):
    expires = expiry_in_days(10)

    def issue_many(n: int) -> None:
        for i in range(n):
            user = User.objects.create_user(f"user{ReferenceToken.objects.count()}-{i}")
            lifecycle.issue_personal(
                user=user, application=sync_app, expires_at=expires, description=f"t{i}"
            )

    def queries(query: str = "") -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_admin.get(LIST + query).status_code == 200
        return len(captured)

    issue_many(3)
    few = {q: queries(q) for q in ("", "?status=live", "?q=t1", "?expires=7d")}
    issue_many(40)
    assert {q: queries(q) for q in few} == few


def test_a_big_list_is_counted_only_up_to_a_cap(as_admin, alice, sync_app, monkeypatch):
    from tokens.admin.tokens import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    expires = expiry_in_days(10)
    for _ in range(3):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expires)
    page = as_admin.get(LIST).content.decode()
    assert "more than 2 tokens" in page
    assert len(listed(as_admin)) == 3


def test_tokens_expiring_soon_are_listed_soonest_first(as_admin, alice, sync_app):
    later, sooner = (
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry_in_days(days)
        ).token
        for days in (5, 2)
    )
    assert [t.pk for t in listed(as_admin, "?expires=7d")] == [sooner.pk, later.pk]

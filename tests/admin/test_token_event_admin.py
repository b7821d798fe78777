"""The audit trail: read-only, filtered by action, actor and application, searched by hint."""

from tests.helpers import signed_in
from tokens.domain import lifecycle
from tokens.models import TokenEvent

LIST = "/admin/tokens/tokenevent/"


def events(client, query: str = "") -> list[TokenEvent]:
    response = client.get(LIST + query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_it_filters_by_action_actor_and_application(
    as_admin, admin_user, alice, alice_token, sync_service_token, reports_app, carol, in_30_days
):

    lifecycle.issue_service(admin=carol, application=reports_app, expires_at=in_30_days)
    lifecycle.revoke_token(alice_token.token, by=admin_user, reason="test")
    assert len(events(as_admin, "?action__exact=revoked")) == 1
    assert {e.token_id for e in events(as_admin, f"?actor={carol.pk}")} != set()
    assert all(e.actor == carol for e in events(as_admin, f"?actor={carol.pk}"))
    by_app = events(as_admin, f"?token__application__id__exact={reports_app.pk}")
    assert len(by_app) == 1 and by_app[0].token.application == reports_app


def test_it_searches_by_token_hint_and_links_to_the_token(
    as_admin, alice_token, sync_service_token
):
    found = events(as_admin, f"?q=…{alice_token.token.hint}")
    assert [e.token_id for e in found] == [alice_token.token.pk]
    page = as_admin.get(LIST).content.decode()
    assert f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/" in page


def test_a_tokens_events_are_listed_from_its_link(as_admin, alice_token, sync_service_token):
    found = events(as_admin, f"?token__id__exact={alice_token.token.pk}")
    assert [e.action for e in found] == ["issued"]


def test_it_is_read_only_even_for_superusers(as_admin, alice_token):
    event = TokenEvent.objects.get()
    assert as_admin.get(LIST + "add/").status_code == 403
    assert as_admin.post(f"{LIST}{event.pk}/change/", {"detail": "x"}).status_code == 403
    assert as_admin.post(f"{LIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert TokenEvent.objects.get().detail == ""


def test_staff_without_permission_get_403(erin, alice_token):
    assert signed_in(erin).get(LIST).status_code == 403


def test_an_actor_id_past_the_database_range_filters_nothing_instead_of_failing(
    as_admin, alice_token
):
    response = as_admin.get("/admin/tokens/tokenevent/?actor=99999999999999999999999")
    assert response.status_code == 200

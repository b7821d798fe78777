"""The "Revoke selected tokens" action: a confirmation page with a reason, then revocation."""

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry

from tests.helpers import grant, signed_in
from tokens.domain import lifecycle
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder

LIST = "/admin/tokens/referencetoken/"


def choose(*tokens) -> dict:
    return {
        "action": "revoke_tokens",
        "index": "0",
        "select_across": "0",
        ACTION_CHECKBOX_NAME: [t.token.pk for t in tokens],
    }


def confirm(*tokens, reason: str = "leaked in a public repository") -> dict:
    return {
        "action": "revoke_tokens",
        "post": "yes",
        "reason": reason,
        ACTION_CHECKBOX_NAME: [t.token.pk for t in tokens],
    }


def test_choosing_the_action_asks_for_confirmation_and_revokes_nothing(
    as_admin, alice_token, sync_service_token
):
    response = as_admin.post(LIST, choose(alice_token, sync_service_token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 tokens will be revoked" in page
    assert alice_token.token.masked in page and sync_service_token.token.masked in page
    assert 'name="reason"' in page
    assert not ReferenceToken.objects.revoked().exists()


def test_confirming_revokes_them_with_the_reason_and_the_admin(
    as_admin, admin_user, alice_token, sync_service_token
):
    response = as_admin.post(LIST, confirm(alice_token))
    assert response.status_code == 302
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revoked_by == admin_user
    assert token.revocation_reason == "leaked in a public repository"
    assert check_for_holder(alice_token.plaintext) is None
    assert check_for_holder(sync_service_token.plaintext) is not None  # not selected
    event = TokenEvent.objects.get(token=token, action="revoked")
    assert event.actor == admin_user and event.ip == "127.0.0.1"
    assert LogEntry.objects.get().get_change_message() == ("Revoked: leaked in a public repository")


def test_a_reason_is_required(as_admin, alice_token):
    response = as_admin.post(LIST, confirm(alice_token, reason=""))
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not ReferenceToken.objects.revoked().exists()


def test_select_across_revokes_every_token_of_the_filter(
    as_admin, alice, alice_token, sync_service_token, reports_app, carol, in_30_days
):
    other = lifecycle.issue_service(admin=carol, application=reports_app, expires_at=in_30_days)
    url = f"{LIST}?application__id__exact={alice_token.token.application_id}"
    page = as_admin.post(url, {**choose(alice_token), "select_across": "1"})
    assert 'name="select_across" value="1"' in page.content.decode()
    assert as_admin.post(url, {**confirm(alice_token), "select_across": "1"}).status_code == 302
    assert check_for_holder(alice_token.plaintext) is None
    assert check_for_holder(sync_service_token.plaintext) is None
    assert check_for_holder(other.plaintext) is not None


def test_already_revoked_tokens_keep_their_first_revocation(as_admin, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="mine")
    as_admin.post(LIST, confirm(alice_token))
    token = ReferenceToken.objects.get()
    assert token.revoked_by == alice and token.revocation_reason == "mine"


def test_staff_without_the_revoke_permission_cannot_run_it(alice_token):
    from accounts.models import User

    viewer = grant(
        User.objects.create_user("vic", "vic@example.com", "x", is_staff=True),
        "view_referencetoken",
    )
    client = signed_in(viewer)
    client.post(LIST, confirm(alice_token))
    assert check_for_holder(alice_token.plaintext) is not None


def test_staff_with_the_revoke_permission_may(alice_token):
    from accounts.models import User

    revoker = grant(
        User.objects.create_user("rita", "rita@example.com", "x", is_staff=True),
        "view_referencetoken",
        "change_referencetoken",
    )
    signed_in(revoker).post(LIST, confirm(alice_token))
    assert check_for_holder(alice_token.plaintext) is None


def test_an_instance_admin_who_may_see_tokens_may_revoke_them(alice_token, carol):
    # The model's rule (an instance admin may revoke any token) holds in the admin too.
    signed_in(grant(carol, "view_referencetoken")).post(LIST, confirm(alice_token))
    assert check_for_holder(alice_token.plaintext) is None

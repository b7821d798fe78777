"""Revoking one token from its page or its application's page: confirm, give a reason, done."""

from django.test import Client

from tests.helpers import signed_in
from tokens.domain import lifecycle
from tokens.models import ReferenceToken
from tokens.validation.checks import check_for_holder


def url(issued) -> str:
    return f"/admin/tokens/referencetoken/{issued.token.pk}/revoke/"


def test_get_shows_a_confirmation_and_revokes_nothing(as_admin, alice_token):
    response = as_admin.get(url(alice_token))
    assert response.status_code == 200
    assert "1 token will be revoked" in response.content.decode()
    assert check_for_holder(alice_token.plaintext) is not None


def test_post_revokes_and_returns_to_the_apps_page(as_admin, admin_user, alice_token, sync_app):
    back = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/"
    response = as_admin.post(url(alice_token), {"reason": "laptop stolen", "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    assert check_for_holder(alice_token.plaintext) is None
    token = ReferenceToken.objects.get()
    assert (token.revoked_by, token.revocation_reason) == (admin_user, "laptop stolen")


def test_a_foreign_next_url_is_ignored(as_admin, alice_token):
    response = as_admin.post(url(alice_token), {"reason": "x", "next": "https://evil.example.com/"})
    assert response["Location"] == f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/"


def test_without_a_reason_nothing_happens(as_admin, alice_token):
    response = as_admin.post(url(alice_token), {"reason": ""})
    assert response.status_code == 200
    assert check_for_holder(alice_token.plaintext) is not None


def test_without_csrf_it_is_refused(admin_user, alice_token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(url(alice_token), {"reason": "x"}).status_code == 403
    assert check_for_holder(alice_token.plaintext) is not None


def test_staff_without_the_permission_get_403(dave, alice_token):
    assert signed_in(dave).post(url(alice_token), {"reason": "x"}).status_code == 403
    assert check_for_holder(alice_token.plaintext) is not None


def test_an_unknown_token_sends_back_to_the_list(as_admin):
    response = as_admin.get("/admin/tokens/referencetoken/999999/revoke/")
    assert response.status_code == 302


def test_a_revoked_token_is_not_revoked_twice(as_admin, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="mine")
    as_admin.post(url(alice_token), {"reason": "again"})
    assert ReferenceToken.objects.get().revocation_reason == "mine"

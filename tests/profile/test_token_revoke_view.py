"""Revoking one's own token: confirmation, POST with CSRF, in place (htmx) or by redirect."""

import re

import pytest
from django.test import Client

from tests.helpers import HTMX
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_resource_server


def url(token: ReferenceToken) -> str:
    return f"/profile/security/tokens/{token.pk}/revoke/"


def is_active(issued, server) -> bool:
    found = check_for_resource_server(
        issued.plaintext, client_id=server.client_id, client_secret=server.secret
    )
    return found is not None


def test_get_shows_a_confirmation_and_changes_nothing(alice_client, alice_token):
    token = alice_token.token
    response = alice_client.get(url(token))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Anything using this token stops working at once." in content
    assert f'<form method="post" action="{url(token)}"' in content
    assert f"enrt_…{token.hint}" in content
    token.refresh_from_db()
    assert token.revoked_at is None


def test_post_revokes_my_token_at_once_and_returns_to_the_list(
    alice, alice_client, alice_token, orders_api
):
    assert is_active(alice_token, orders_api)
    response = alice_client.post(url(alice_token.token))
    assert response.status_code == 302
    assert response["Location"] == "/profile/security/tokens/"

    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revoked_at is not None
    assert token.revoked_by == alice
    event = TokenEvent.objects.get(action="revoked")
    assert event.actor == alice
    assert event.ip == "127.0.0.1"
    # The very next check at the validation URL answers inactive.
    assert not is_active(alice_token, orders_api)

    page = alice_client.get(response["Location"])
    message = f"Personal access token “laptop sync” (enrt_…{token.hint}) was revoked."
    assert message.encode() in page.content


def test_with_htmx_it_answers_the_revoked_row_for_an_in_place_swap(alice_client, alice_token):
    token = alice_token.token
    response = alice_client.post(url(token), **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.strip().startswith(f'<tr id="token-{token.pk}"')
    assert re.search(r'class="label label--revoked"[^>]*>Revoked<', content)
    assert "/revoke/" not in content  # no second revoke button
    # The count line above the table comes along, swapped out of band.
    assert '<div id="token-summary" class="token-summary" hx-swap-oob="true">' in content
    assert "0 active personal access tokens · 1 revoked or expired" in content
    # Where focus lands after the swap (static/js/portal.js).
    assert f'id="token-{token.pk}-status" tabindex="-1"' in content
    assert ReferenceToken.objects.revoked().count() == 1


def test_revoking_twice_records_one_revocation(alice_client, alice_token):
    alice_client.post(url(alice_token.token))
    response = alice_client.post(url(alice_token.token), follow=True)
    assert b"was already revoked" in response.content
    assert TokenEvent.objects.filter(action="revoked").count() == 1


def test_another_persons_token_is_not_found(bob_client, alice_token, orders_api):
    # bob must never see, let alone revoke, alice's token: 404, as if it did not exist.
    assert bob_client.get(url(alice_token.token)).status_code == 404
    assert bob_client.post(url(alice_token.token)).status_code == 404
    assert bob_client.post(url(alice_token.token), **HTMX).status_code == 404
    assert is_active(alice_token, orders_api)


def test_a_service_token_is_not_found_here(admin_user, sync_service_token):
    # Service tokens belong to the application's system user; admins revoke them in the admin.
    client = Client()
    client.force_login(admin_user)
    assert client.post(url(sync_service_token.token)).status_code == 404
    assert ReferenceToken.objects.revoked().count() == 0


@pytest.mark.parametrize("token_id", ["999999", "9" * 30, "-1", "abc"])
def test_an_unknown_token_is_not_found(alice_client, db, token_id):
    assert alice_client.post(f"/profile/security/tokens/{token_id}/revoke/").status_code == 404


def test_it_needs_the_csrf_token(alice, alice_token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(url(alice_token.token)).status_code == 403
    assert client.post(url(alice_token.token), **HTMX).status_code == 403
    assert ReferenceToken.objects.revoked().count() == 0


def test_it_accepts_the_csrf_header_that_htmx_sends(alice, alice_token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/profile/security/tokens/").content.decode()
    csrf = page.split('hx-headers=\'{"X-CSRFToken": "')[1].split('"')[0]
    response = client.post(url(alice_token.token), HTTP_X_CSRFTOKEN=csrf, **HTMX)
    assert response.status_code == 200
    assert ReferenceToken.objects.revoked().count() == 1


def test_it_needs_a_signed_in_person(alice_token):
    response = Client().post(url(alice_token.token))
    assert response.status_code == 302
    assert ReferenceToken.objects.revoked().count() == 0


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_refused(alice_client, alice_token, method):
    assert getattr(alice_client, method)(url(alice_token.token)).status_code == 405
    assert ReferenceToken.objects.revoked().count() == 0

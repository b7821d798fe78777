"""Sudo mode: creating or rotating a personal token asks for the password again once it is stale."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD
from tokens.models import ReferenceToken


def make_stale(client: Client, seconds: int = 16 * 60) -> None:
    session = client.session
    session[SESSION_KEY] -= seconds
    session.save()


@pytest.fixture
def create_form(alice_client, sync_app, read_scope) -> dict:
    alice_client.get("/profile/security/tokens/new/")
    return {
        "application": str(sync_app.pk),
        "description": "typed before the password",
        "expires_at": (timezone.now() + timedelta(days=10)).date().isoformat(),
        "scopes": [str(read_scope.pk)],
        "form_key": alice_client.get("/profile/security/tokens/new/")
        .context["form"]
        .initial["form_key"],
    }


def test_a_fresh_sign_in_needs_no_confirmation(alice_client, create_form):
    response = alice_client.post("/profile/security/tokens/new/", create_form)
    assert response.status_code == 201


def test_a_stale_confirmation_asks_for_the_password_and_keeps_what_was_typed(
    alice_client, create_form
):
    make_stale(alice_client)
    response = alice_client.post("/profile/security/tokens/new/", create_form)

    assert response.status_code == 200
    assert b"Confirm your password" in response.content
    assert response["Cache-Control"] == "no-store"
    carried = dict(response.context["carried"])
    assert carried["description"] == "typed before the password"
    assert carried["form_key"] == create_form["form_key"]
    assert ReferenceToken.objects.count() == 0

    for name, value in carried.items():
        assert f'name="{name}" value="{value}"'.encode() in response.content

    # The confirmation page's form sends it all again, with the password.
    response = alice_client.post(
        "/profile/security/tokens/new/", {**create_form, "sudo_password": PASSWORD}
    )
    assert response.status_code == 201
    token = ReferenceToken.objects.get()
    assert token.description == "typed before the password"
    assert [s.name for s in token.scopes.all()] == ["read"]


def test_a_confirmation_lasts_for_reauth_max_age(alice_client, create_form, settings):
    make_stale(alice_client)
    alice_client.post("/profile/security/tokens/new/", {**create_form, "sudo_password": PASSWORD})
    alice_client.get("/profile/security/tokens/new/")
    second = {
        **create_form,
        "form_key": alice_client.get("/profile/security/tokens/new/")
        .context["form"]
        .initial["form_key"],
    }

    assert alice_client.post("/profile/security/tokens/new/", second).status_code == 201


def test_reauth_max_age_is_a_setting(alice_client, create_form, settings):
    settings.REAUTH_MAX_AGE = 0
    response = alice_client.post("/profile/security/tokens/new/", create_form)
    assert b"Confirm your password" in response.content


def test_a_wrong_password_is_refused_and_the_form_kept(alice_client, create_form):
    make_stale(alice_client)
    response = alice_client.post(
        "/profile/security/tokens/new/", {**create_form, "sudo_password": "not it"}
    )

    assert response.status_code == 403
    assert b"That is not your password" in response.content
    assert dict(response.context["carried"])["description"] == "typed before the password"
    assert b"not it" not in response.content
    assert ReferenceToken.objects.count() == 0


def test_failed_confirmations_lead_to_the_sign_in_lockout(alice_client, create_form, settings):
    make_stale(alice_client)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = alice_client.post(
            "/profile/security/tokens/new/", {**create_form, "sudo_password": "guess"}
        )
        assert response.status_code == 403
    response = alice_client.post(
        "/profile/security/tokens/new/", {**create_form, "sudo_password": "guess"}
    )
    assert response.status_code == 429

    # Locked out: even the right password is refused now, and so is signing in.
    response = alice_client.post(
        "/profile/security/tokens/new/", {**create_form, "sudo_password": PASSWORD}
    )
    assert response.status_code == 429
    assert ReferenceToken.objects.count() == 0
    sign_in = Client().post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert sign_in.status_code == 429


def test_rotating_asks_too(alice_client, alice_token):
    url = f"/profile/security/tokens/{alice_token.token.pk}/rotate/"
    form_key = alice_client.get(url).context["form_key"]
    make_stale(alice_client)

    response = alice_client.post(url, {"form_key": form_key})
    assert b"Confirm your password" in response.content
    assert ReferenceToken.objects.count() == 1

    response = alice_client.post(url, {"form_key": form_key, "sudo_password": PASSWORD})
    assert response.status_code == 201
    assert ReferenceToken.objects.count() == 2


def test_signing_in_with_the_form_counts_as_a_confirmation(alice, sync_app, read_scope):
    client = Client()
    client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert isinstance(client.session[SESSION_KEY], int)

"""Sudo mode by any factor (issue 21): an authenticator code or a recovery code confirms it as
the password does, through allauth's reauthentication; a wrong code counts toward the lockout;
allauth's own pages (adding a second factor) share the same clock."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.utils import timezone

from accounts.sudo import METHOD_KEY, SESSION_KEY
from tokens.models import ReferenceToken

URL = "/profile/security/tokens/new/"


def make_stale(client) -> None:
    session = client.session
    session[SESSION_KEY] -= 16 * 60
    session.save()


@pytest.fixture
def secret(alice) -> str:
    value = generate_totp_secret()
    TOTP.activate(alice, value)
    RecoveryCodes.activate(alice)
    return value


@pytest.fixture
def create_form(alice_client, sync_app, read_scope) -> dict:
    return {
        "application": str(sync_app.pk),
        "description": "typed before the code",
        "expires_at": (timezone.now() + timedelta(days=10)).date().isoformat(),
        "scopes": [str(read_scope.pk)],
        "form_key": alice_client.get(URL).context["form"].initial["form_key"],
    }


def test_the_page_offers_a_code_to_someone_with_an_authenticator(alice_client, secret, create_form):
    make_stale(alice_client)
    response = alice_client.post(URL, create_form)
    assert response.status_code == 200
    assert b'name="sudo_code"' in response.content
    assert b'id="sudo-webauthn"' not in response.content  # no key: no key button


def test_an_authenticator_code_confirms(alice_client, secret, create_form):
    make_stale(alice_client)
    response = alice_client.post(URL, {**create_form, "sudo_code": pyotp.TOTP(secret).now()})
    assert response.status_code == 201
    assert ReferenceToken.objects.count() == 1
    assert alice_client.session[METHOD_KEY] == "mfa"


def test_a_recovery_code_confirms_once(alice, alice_client, secret, create_form):
    code = RecoveryCodes(
        Authenticator.objects.get(user=alice, type="recovery_codes")
    ).get_unused_codes()[0]
    make_stale(alice_client)
    assert alice_client.post(URL, {**create_form, "sudo_code": code}).status_code == 201
    make_stale(alice_client)
    form = {**create_form, "form_key": alice_client.get(URL).context["form"].initial["form_key"]}
    response = alice_client.post(URL, {**form, "sudo_code": code})
    assert response.status_code == 403
    assert b"That code is not right" in response.content
    assert ReferenceToken.objects.count() == 1


def test_wrong_codes_count_toward_the_lockout(alice_client, secret, create_form):
    make_stale(alice_client)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert alice_client.post(URL, {**create_form, "sudo_code": "000000"}).status_code == 403
    assert alice_client.post(URL, {**create_form, "sudo_code": "000000"}).status_code == 429
    assert ReferenceToken.objects.count() == 0


def test_allauth_pages_follow_the_same_clock(alice_client):
    # Fresh: adding an authenticator app asks nothing more.
    assert alice_client.get("/accounts/2fa/totp/activate/").status_code == 200
    make_stale(alice_client)
    response = alice_client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")

"""SSO_ONLY (issue 22): people linked to an identity provider sign in only through it; the
break-glass superuser keeps their password."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from tests.helpers import PASSWORD
from tests.oidc.provider import PROVIDER_ID, PROVIDER_NAME, sign_in_through_provider


def link(user, uid: str, provider: str = PROVIDER_ID) -> SocialAccount:
    return SocialAccount.objects.create(user=user, provider=provider, uid=uid)


def password_sign_in(username: str) -> tuple[Client, object]:
    client = Client()
    response = client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    return client, response


def is_signed_in(client: Client) -> bool:
    return client.get("/profile/").wsgi_request.user.is_authenticated


@pytest.fixture
def sso_only(settings, sso):
    settings.SSO_ONLY = True
    return sso


@pytest.mark.django_db
def test_a_linked_person_is_refused_the_password_form_with_a_clear_message(sso_only, alice):
    link(alice, "alice-0003")
    client, response = password_sign_in("alice")
    assert response.status_code == 200
    text = response.content.decode()
    assert f"Your account signs in with {PROVIDER_NAME}" in text
    assert f"Sign in with {PROVIDER_NAME}" in text
    assert not is_signed_in(client)


@pytest.mark.django_db
def test_the_same_person_signs_in_through_the_provider(sso_only, alice):
    link(alice, "alice-0003")
    client = Client()
    sign_in_through_provider(client, "alice-0003")
    assert client.get("/profile/").wsgi_request.user == alice


@pytest.mark.django_db
def test_without_sso_only_a_linked_person_keeps_the_password(sso, alice):
    link(alice, "alice-0003")
    client, response = password_sign_in("alice")
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.mark.django_db
def test_a_person_without_a_link_keeps_the_password(sso_only, bob):
    client, _ = password_sign_in("bob")
    assert is_signed_in(client)


@pytest.mark.django_db
def test_a_link_to_a_provider_no_longer_configured_does_not_lock_anyone_out(sso_only, alice):
    link(alice, "alice-at-the-old-idp", provider="retired-idp")
    client, _ = password_sign_in("alice")
    assert is_signed_in(client)


@pytest.mark.django_db
def test_the_break_glass_superuser_keeps_the_password(sso_only, admin_user):
    link(admin_user, "admin-0004")
    client, response = password_sign_in("admin")
    assert response.status_code == 302
    assert is_signed_in(client)


@pytest.mark.django_db
def test_a_wrong_password_says_nothing_about_single_sign_on(sso_only, alice):
    link(alice, "alice-0003")
    client = Client()
    response = client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
    assert "Your account signs in with" not in response.content.decode()
    assert "correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_no_other_way_in_signs_a_linked_person_in(sso_only, alice, rf):
    # A passkey sign-in reaches allauth's pre_login as a password's would, without the form.
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.allauth import PortalAccountAdapter

    link(alice, "alice-0003")
    request = rf.post("/accounts/2fa/login/webauthn/")
    request.session = SessionStore()
    hooks = dict(email_verification="none", email=None, signup=False, redirect_url=None)
    refused = PortalAccountAdapter(request).pre_login(request, alice, signal_kwargs=None, **hooks)
    assert refused.status_code == 403
    assert f"Your account signs in with {PROVIDER_NAME}" in refused.content.decode()
    through_provider = PortalAccountAdapter(request).pre_login(
        request, alice, signal_kwargs={"sociallogin": object()}, **hooks
    )
    assert through_provider is None

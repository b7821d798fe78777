"""Sudo mode for people who sign in through an identity provider (issue 22): signing in again
there confirms it; under SSO_ONLY their password does not."""

import time

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.sudo import METHOD_KEY, PASSWORD_FIELD, SESSION_KEY
from tests.helpers import PASSWORD
from tests.oidc.provider import PROVIDER_ID, PROVIDER_NAME, sign_in_through_provider


def stale(client: Client) -> Client:
    """Signed in long enough ago that a new credential asks for a confirmation again."""
    session = client.session
    session[SESSION_KEY] = int(time.time()) - 3600
    session.save()
    return client


def rotate_url(issued) -> str:
    return f"/profile/security/tokens/{issued.token.pk}/rotate/"


@pytest.mark.django_db
def test_a_person_without_a_password_confirms_at_the_provider(sso, alice, alice_token):
    alice.set_unusable_password()
    alice.save()
    SocialAccount.objects.create(user=alice, provider=PROVIDER_ID, uid="alice-0003")
    client = Client()
    sign_in_through_provider(client, "alice-0003")
    stale(client)
    url = rotate_url(alice_token)
    form_key = client.get(url).context["form_key"]

    asked = client.post(url, {"form_key": form_key})
    assert f"Confirm with {PROVIDER_NAME}" in asked.content.decode()

    back = sign_in_through_provider(client, "alice-0003", next_url=url)
    assert back["Location"] == url
    assert client.session[METHOD_KEY] == "sso"
    form_key = client.get(url).context["form_key"]
    rotated = client.post(url, {"form_key": form_key})
    assert rotated.status_code == 201
    assert alice_token.token.__class__.objects.filter(user=alice).count() == 2


@pytest.mark.django_db
def test_the_confirmation_page_offers_no_provider_to_someone_not_linked(sso, alice, alice_token):
    client = Client()
    client.force_login(alice)
    stale(client)
    url = rotate_url(alice_token)
    asked = client.post(url, {"form_key": client.get(url).context["form_key"]})
    assert "Confirm with" not in asked.content.decode()


@pytest.mark.django_db
def test_under_sso_only_a_password_does_not_confirm(sso, settings, alice, alice_token):
    settings.SSO_ONLY = True
    SocialAccount.objects.create(user=alice, provider=PROVIDER_ID, uid="alice-0003")
    client = Client()
    sign_in_through_provider(client, "alice-0003")
    stale(client)
    url = rotate_url(alice_token)
    form_key = client.get(url).context["form_key"]
    refused = client.post(url, {"form_key": form_key, PASSWORD_FIELD: PASSWORD})
    assert refused.status_code == 403
    assert f"Your account signs in with {PROVIDER_NAME}" in refused.content.decode()


@pytest.mark.django_db
def test_the_admins_confirmation_page_offers_the_provider_too(sso, admin_user, orders_api):
    SocialAccount.objects.create(user=admin_user, provider=PROVIDER_ID, uid="admin-0004")
    client = Client()
    client.force_login(admin_user)
    stale(client)
    url = f"/admin/trustedapps/resourceserver/{orders_api.server.pk}/rotate-secret/"
    asked = client.post(url, {})
    assert asked.status_code == 200
    assert f'value="Confirm with {PROVIDER_NAME}"' in asked.content.decode()

"""A person whom SCIM provisioned signs in through the same organisation's provider (issue 22):
found by the claim that SCIM sent as externalId (`scim_claim`), not by e-mail."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.utils import timezone

from accounts.models import User
from scim.models import ProvisionedUser
from tests.oidc.provider import sign_in_through_provider


@pytest.fixture
def with_scim_claim(sso, settings):
    settings.OIDC_PROVIDERS = [{**settings.OIDC_PROVIDERS[0], "scim_claim": "sub"}]
    return sso


@pytest.fixture
def provisioned_ada(db) -> User:
    # Okta provisioned her with its user id as externalId, which is also her `sub` there.
    ada = User.objects.create_user("ada.lovelace@example.com", "ada@example.org")
    ada.set_unusable_password()
    ada.save()
    ProvisionedUser.objects.create(user=ada, external_id="ada-0001")
    return ada


def test_a_first_sign_in_finds_the_provisioned_person(client, with_scim_claim, provisioned_ada):
    sign_in_through_provider(client, "ada-0001")
    assert client.get("/profile/").wsgi_request.user == provisioned_ada
    assert SocialAccount.objects.get().user == provisioned_ada
    assert User.objects.count() == 1


def test_without_scim_claim_the_provisioned_person_is_not_found(client, sso, provisioned_ada):
    sign_in_through_provider(client, "ada-0001")
    assert client.get("/profile/").wsgi_request.user != provisioned_ada
    assert not SocialAccount.objects.filter(user=provisioned_ada).exists()


def test_a_person_scim_deleted_is_not_found(client, with_scim_claim, provisioned_ada, settings):
    settings.OIDC_CREATE_USERS = False
    ProvisionedUser.objects.filter(user=provisioned_ada).update(deleted_at=timezone.now())
    response = sign_in_through_provider(client, "ada-0001")
    assert response.status_code == 403
    assert not SocialAccount.objects.exists()

"""Signing in through an OpenID provider (issue 22): tests/oidc/server.js, a real one."""

import pytest
from allauth.socialaccount.models import SocialAccount
from bs4 import BeautifulSoup
from django.test import Client

from accounts.models import User
from tests.oidc.provider import PROVIDER_ID, PROVIDER_NAME, sign_in_through_provider


def signed_in_as(client: Client) -> str | None:
    user = client.get("/profile/").wsgi_request.user
    return user.username if user.is_authenticated else None


@pytest.mark.django_db
def test_the_sign_in_page_offers_each_provider_as_a_form(client, sso):
    page = BeautifulSoup(client.get("/accounts/login/").content, "html.parser")
    form = page.find("form", class_="sso-sign-in")
    assert form["method"] == "post"
    assert form["action"].startswith(f"/accounts/oidc/{PROVIDER_ID}/login/")
    assert form.button.get_text(strip=True) == f"Sign in with {PROVIDER_NAME}"


@pytest.mark.django_db
def test_without_a_provider_the_sign_in_page_has_no_single_sign_on(client):
    page = BeautifulSoup(client.get("/accounts/login/").content, "html.parser")
    assert page.find("form", class_="sso-sign-in") is None
    assert "Sign in with" not in page.get_text()


@pytest.mark.django_db
def test_csp_lets_the_sign_in_form_lead_to_the_provider(client, sso):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert form_action.split()[1:] == ["'self'", sso.issuer]


@pytest.mark.django_db
def test_the_portal_sends_a_pkce_challenge(client, sso):
    started = client.post(f"/accounts/oidc/{PROVIDER_ID}/login/")
    assert started.status_code == 302
    assert started["Location"].startswith(f"{sso.issuer}/auth?")
    assert "code_challenge_method=S256" in started["Location"]
    assert "code_challenge=" in started["Location"]


@pytest.mark.django_db
def test_a_first_sign_in_makes_the_person_without_a_usable_password(client, sso):
    response = sign_in_through_provider(client, "ada-0001")
    assert response.status_code == 302
    ada = User.objects.get(socialaccount__provider=PROVIDER_ID, socialaccount__uid="ada-0001")
    assert (ada.username, ada.email, ada.first_name) == ("ada", "ada@example.com", "Ada")
    assert not ada.has_usable_password()
    assert not ada.is_staff and not ada.is_superuser
    assert signed_in_as(client) == "ada"


@pytest.mark.django_db
def test_a_first_sign_in_is_refused_when_people_are_not_made_on_the_spot(client, sso, settings):
    settings.OIDC_CREATE_USERS = False
    response = sign_in_through_provider(client, "ada-0001")
    assert response.status_code == 403
    assert "No account for you here yet" in response.content.decode()
    assert not User.objects.filter(email="ada@example.com").exists()
    assert not SocialAccount.objects.exists()
    assert signed_in_as(client) is None


@pytest.mark.django_db
def test_a_second_sign_in_finds_the_person_by_sub(client, sso):
    sign_in_through_provider(client, "ada-0001")
    ada = User.objects.get(username="ada")
    # An administrator renames her and changes her address: `sub` still finds her.
    User.objects.filter(pk=ada.pk).update(username="ada.lovelace", email="al@example.org")
    client.post("/accounts/logout/")
    assert signed_in_as(client) is None

    again = Client()
    sign_in_through_provider(again, "ada-0001")
    assert signed_in_as(again) == "ada.lovelace"
    assert User.objects.count() == 1
    assert SocialAccount.objects.get().uid == "ada-0001"


@pytest.mark.django_db
@pytest.mark.parametrize("link_verified_email", [False, True])
def test_an_unverified_address_never_links_to_an_existing_person(
    client, sso, settings, alice, link_verified_email
):
    # Mallory's provider account claims alice@example.com, unverified.
    settings.OIDC_LINK_VERIFIED_EMAIL = link_verified_email
    sign_in_through_provider(client, "mallory-0002")
    assert signed_in_as(client) == "mallory"
    assert not SocialAccount.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_a_verified_address_does_not_link_while_the_setting_is_off(client, sso, alice):
    sign_in_through_provider(client, "alice-0003")
    assert signed_in_as(client) != "alice"
    assert not SocialAccount.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_a_verified_address_links_the_existing_person_where_allowed(client, sso, settings, alice):
    settings.OIDC_LINK_VERIFIED_EMAIL = True
    settings.OIDC_CREATE_USERS = False
    sign_in_through_provider(client, "alice-0003")
    assert signed_in_as(client) == "alice"
    link = SocialAccount.objects.get(user=alice)
    assert (link.provider, link.uid) == (PROVIDER_ID, "alice-0003")
    # Her password still works (the address was the one her administrator gave her).
    alice.refresh_from_db()
    assert alice.has_usable_password()


@pytest.mark.django_db
def test_a_superuser_is_never_linked_by_address(client, sso, settings, admin_user):
    settings.OIDC_LINK_VERIFIED_EMAIL = True
    settings.OIDC_CREATE_USERS = False
    response = sign_in_through_provider(client, "admin-0004")
    assert response.status_code == 403
    assert signed_in_as(client) is None
    assert not SocialAccount.objects.exists()


@pytest.mark.django_db
def test_an_inactive_person_is_not_signed_in(client, sso):
    sign_in_through_provider(client, "ada-0001")
    User.objects.filter(username="ada").update(is_active=False)
    again = Client()
    sign_in_through_provider(again, "ada-0001")
    assert signed_in_as(again) is None


@pytest.mark.django_db
def test_sign_in_goes_on_to_the_page_asked_for(client, sso):
    response = sign_in_through_provider(client, "ada-0001", next_url="/profile/notifications/")
    assert response["Location"] == "/profile/notifications/"

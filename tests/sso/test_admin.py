"""Single sign-on in the admin (issue 22): configured providers visible, never their secret;
a person's page shows their links; allauth's database-configured apps stay out of sight."""

import pytest
from allauth.socialaccount.models import SocialAccount
from bs4 import BeautifulSoup
from django.test import Client

from tests.helpers import signed_in
from tests.oidc.provider import PROVIDER_ID, PROVIDER_NAME, sign_in_through_provider

LINKS = "/admin/socialaccount/socialaccount/"


@pytest.mark.django_db
def test_the_links_page_shows_each_configured_provider_without_its_secret(sso, admin_user):
    sign_in_through_provider(Client(), "ada-0001")  # one person linked
    response = signed_in(admin_user).get(LINKS)
    assert response.status_code == 200
    text = response.content.decode()
    assert sso.secret not in text
    table = BeautifulSoup(text, "html.parser").select_one(".identity-providers table")
    cells = [td.get_text(strip=True) for td in table.select("tbody tr td")]
    assert cells[:5] == [
        PROVIDER_NAME,
        PROVIDER_ID,
        sso.issuer,
        sso.client_id,
        f"http://testserver/accounts/oidc/{PROVIDER_ID}/login/callback/",
    ]
    assert cells[5] == "1"
    assert cells[6] != "never"


@pytest.mark.django_db
def test_without_a_provider_the_links_page_says_so(admin_user):
    text = signed_in(admin_user).get(LINKS).content.decode()
    assert "None: set OIDC_PROVIDERS" in text


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["socialapp", "socialtoken"])
def test_allauths_apps_and_tokens_are_not_in_the_admin(admin_user, model):
    assert signed_in(admin_user).get(f"/admin/socialaccount/{model}/").status_code == 404


@pytest.mark.django_db
def test_a_persons_page_shows_their_links(sso, admin_user, alice, bob):
    SocialAccount.objects.create(user=alice, provider=PROVIDER_ID, uid="alice-0003")
    client = signed_in(admin_user)
    page = BeautifulSoup(
        client.get(f"/admin/accounts/user/{alice.pk}/change/").content, "html.parser"
    )
    row = page.select_one("table.identity-links tbody tr")
    assert [td.get_text(strip=True) for td in row.select("td")][:2] == [
        PROVIDER_NAME,
        "alice-0003",
    ]
    theirs = client.get(f"/admin/accounts/user/{bob.pk}/change/").content.decode()
    assert "Not linked to any identity provider." in theirs

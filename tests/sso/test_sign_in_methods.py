"""Profile → Security → Sign-in methods (issue 22): the person's links to identity providers,
linking one while signed in, unlinking one where another way to sign in remains."""

import pytest
from allauth.socialaccount.models import SocialAccount
from bs4 import BeautifulSoup
from django.core import mail

from accounts.models import AccountEvent, User
from tests.helpers import signed_in
from tests.oidc.provider import PROVIDER_ID, PROVIDER_NAME, sign_in_through_provider

URL = "/accounts/3rdparty/"


def link(user, uid: str) -> SocialAccount:
    return SocialAccount.objects.create(
        user=user, provider=PROVIDER_ID, uid=uid, extra_data={"userinfo": {"sub": uid}}
    )


@pytest.mark.django_db
def test_the_security_menu_shows_sign_in_methods_only_with_a_provider(alice, settings):
    client = signed_in(alice)
    assert "Sign-in methods" not in client.get("/profile/notifications/").content.decode()
    settings.OIDC_PROVIDERS = [{"id": PROVIDER_ID, "name": PROVIDER_NAME}]
    assert "Sign-in methods" in client.get("/profile/notifications/").content.decode()


@pytest.mark.django_db
def test_the_page_lists_the_persons_links_and_offers_to_link(sso, alice, bob):
    link(alice, "alice-0003")
    link(bob, "bob-0009")  # bob's link is none of alice's business
    page = BeautifulSoup(signed_in(alice).get(URL).content, "html.parser")
    rows = page.select("table.sign-in-methods tbody tr")
    assert len(rows) == 1
    assert rows[0].td.get_text(strip=True) == PROVIDER_NAME
    assert page.find("button", string=f"Link {PROVIDER_NAME}") is not None


@pytest.mark.django_db
def test_a_signed_in_person_links_the_provider(sso, bob):
    client = signed_in(bob)
    response = sign_in_through_provider(client, "ada-0001", process="connect", next_url=URL)
    assert response.status_code == 302
    assert response["Location"] == URL
    link = SocialAccount.objects.get(user=bob)
    assert (link.provider, link.uid) == (PROVIDER_ID, "ada-0001")
    # From then on the provider signs bob in; he is told, and so is his security log.
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert f"the identity provider {PROVIDER_NAME} was linked" in mail.outbox[0].body
    assert AccountEvent.objects.filter(user=bob, event="account.sso_linked").exists()


@pytest.mark.django_db
def test_an_identity_linked_to_someone_else_is_not_moved(sso, alice, bob):
    link(alice, "alice-0003")
    client = signed_in(bob)
    sign_in_through_provider(client, "alice-0003", process="connect", next_url=URL)
    assert SocialAccount.objects.get(uid="alice-0003").user == alice


@pytest.mark.django_db
def test_a_person_with_a_password_unlinks(sso, alice):
    account = link(alice, "alice-0003")
    response = signed_in(alice).post(URL, {"account": account.pk})
    assert response.status_code == 302
    assert not SocialAccount.objects.filter(user=alice).exists()
    assert f"the identity provider {PROVIDER_NAME} was unlinked" in mail.outbox[-1].body
    assert AccountEvent.objects.filter(user=alice, event="account.sso_unlinked").exists()


@pytest.mark.django_db
def test_a_person_without_a_password_cannot_unlink_the_only_way_in(sso, alice):
    alice.set_unusable_password()
    alice.save()
    account = link(alice, "alice-0003")
    response = signed_in(alice).post(URL, {"account": account.pk})
    assert response.status_code == 200
    assert SocialAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_under_sso_only_the_last_link_stays(sso, settings, alice, admin_user):
    settings.SSO_ONLY = True
    account = link(alice, "alice-0003")
    response = signed_in(alice).post(URL, {"account": account.pk})
    assert "the last link cannot be removed" in response.content.decode()
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    # The break-glass superuser may (their password works under SSO_ONLY).
    theirs = link(admin_user, "admin-0004")
    signed_in(admin_user).post(URL, {"account": theirs.pk})
    assert not SocialAccount.objects.filter(pk=theirs.pk).exists()

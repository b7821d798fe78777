"""The admin's users list (issue 21): each person's second factors and last sign-in, and a filter
"no second factor"."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from bs4 import BeautifulSoup

from tests.helpers import signed_in

URL = "/admin/accounts/user/"


def rows(response) -> dict[str, str]:
    html = BeautifulSoup(response.content, "html.parser")
    return {
        row.select_one("th a").get_text(strip=True): row.select_one(
            "td.field-second_factors"
        ).get_text(strip=True)
        for row in html.select("#result_list tbody tr")
    }


def test_the_list_shows_each_person_s_second_factors(admin_user, alice, bob):
    TOTP.activate(alice, generate_totp_secret())
    for n in range(2):
        Authenticator.objects.create(user=bob, type=Authenticator.Type.WEBAUTHN, data={"n": n})
    response = signed_in(admin_user).get(URL)
    assert response.status_code == 200
    assert rows(response) == {"admin": "none", "alice": "app", "bob": "2 keys"}
    assert b"last sign-in" in response.content.lower()


def test_the_filter_finds_people_without_a_second_factor(admin_user, alice, bob, sync_app):
    TOTP.activate(alice, generate_totp_secret())
    response = signed_in(admin_user).get(URL, {"mfa": "none"})
    assert set(rows(response)) == {"admin", "bob"}  # people only: system users never sign in
    response = signed_in(admin_user).get(URL, {"mfa": "some"})
    assert set(rows(response)) == {"alice"}

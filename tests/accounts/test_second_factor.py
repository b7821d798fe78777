"""Second factors (django-allauth's mfa, issue 21): an authenticator app added from the profile,
then asked for at sign-in; recovery codes, each good once; wrong codes count toward the lockout."""

from __future__ import annotations

import pyotp
from bs4 import BeautifulSoup
from django.conf import settings
from django.test import Client

from tests.helpers import PASSWORD

LOGIN = "/accounts/login/"
SECOND_STEP = "/accounts/2fa/authenticate/"


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def sign_in_with_password(username: str = "alice") -> Client:
    client = Client()
    response = client.post(LOGIN, {"login": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def enrol(alice) -> tuple[str, list[str]]:
    """alice adds an authenticator app from her profile: the secret as the page shows it, the
    code as her app makes it. Returns the secret and her recovery codes."""
    client = sign_in_with_password()
    security = client.get("/profile/security/tokens/")
    assert page(security).find("a", string="Two-factor authentication")["href"] == "/accounts/2fa/"
    index = client.get("/accounts/2fa/")
    assert index.status_code == 200
    add = page(index).find("a", string="Add authenticator app")["href"]
    response = client.get(add)
    assert response.status_code == 200
    shown = page(response)
    secret = shown.find(id="authenticator_secret").get_text(strip=True)
    assert shown.find("img", class_="totp-qr")["src"].startswith("data:image/svg+xml;base64,")

    wrong = client.post(add, {"code": "000000"})
    assert b"Incorrect code" in wrong.content

    response = client.post(add, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    codes_page = page(client.get(response["Location"]))
    codes = [code.get_text() for code in codes_page.select("#recovery_codes code")]
    assert len(codes) == 10
    return secret, codes


def second_step(code: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == SECOND_STEP
    assert signed_in_as(client) is None  # the password alone opens nothing
    return client, client.post(SECOND_STEP, {"code": code})


def test_a_person_adds_an_authenticator_app_and_then_signs_in_with_a_code(alice):
    secret, _ = enrol(alice)

    client, response = second_step(pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == str(alice.pk)


def test_a_recovery_code_signs_in_once(alice):
    _, codes = enrol(alice)

    client, response = second_step(codes[0])
    assert response.status_code == 302
    assert signed_in_as(client) == str(alice.pk)

    client, response = second_step(codes[0])
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert signed_in_as(client) is None

    client, response = second_step(codes[1])
    assert signed_in_as(client) == str(alice.pk)


def test_the_second_step_page_looks_like_the_portal(alice):
    enrol(alice)
    client = sign_in_with_password()
    response = client.get(SECOND_STEP)
    assert response.status_code == 200
    html = page(response)
    assert html.find("link", rel="stylesheet")["href"].endswith("css/portal.css")
    assert html.find("label", string="Code")
    # Nothing inline (the CSP allows none); data travels in JSON blocks, which are never run.
    assert [s for s in html.find_all("script", src=None) if s["type"] != "application/json"] == []


def test_wrong_codes_count_toward_the_lockout(alice):
    enrol(alice)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _, response = second_step("123456")
        assert response.status_code == 200
    _, response = second_step("123456")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    # Locked: even the right password is refused now, from this address.
    assert Client().post(LOGIN, {"login": "alice", "password": PASSWORD}).status_code == 429


def test_someone_without_a_second_factor_signs_in_with_the_password_alone(alice):
    client = sign_in_with_password()
    assert signed_in_as(client) == str(alice.pk)

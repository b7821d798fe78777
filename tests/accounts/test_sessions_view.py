"""Profile → Security → Sessions (allauth.usersessions, issue 21): each signed-in browser with its
address, browser and last activity; one or all others signed out."""

from __future__ import annotations

from bs4 import BeautifulSoup
from django.test import Client

from tests.helpers import PASSWORD

SESSIONS = "/accounts/sessions/"


def browser(agent: str, address: str = "127.0.0.1") -> Client:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return client


def rows(client: Client) -> list[list[str]]:
    html = BeautifulSoup(client.get(SESSIONS).content, "html.parser")
    return [
        [td.get_text(" ", strip=True) for td in tr.find_all("td")[:2]]
        for tr in html.select("table.sessions tbody tr")
    ]


def test_the_page_lists_each_browser_with_its_address(alice):
    laptop = browser("Firefox on the laptop", "192.0.2.10")
    browser("Chromium on the phone", "198.51.100.7")
    assert sorted(rows(laptop)) == [
        ["Chromium on the phone", "198.51.100.7"],
        ["Firefox on the laptop This browser", "192.0.2.10"],
    ]
    page = laptop.get(SESSIONS).content.decode()
    assert "portal.css" in page
    assert 'aria-current="page">Sessions</a>' in page


def test_signing_out_one_other_session_ends_it(alice):
    laptop = browser("laptop")
    phone = browser("phone")
    html = BeautifulSoup(laptop.get(SESSIONS).content, "html.parser")
    [form] = html.select("table.sessions form")
    response = laptop.post(form["action"])
    assert response.status_code == 302
    assert phone.get("/profile/security/tokens/").status_code == 302  # signed out
    assert laptop.get("/profile/security/tokens/").status_code == 200


def test_signing_out_all_others(alice):
    laptop = browser("laptop")
    phone = browser("phone")
    tablet = browser("tablet")
    assert laptop.post(SESSIONS).status_code == 302
    assert phone.get("/profile/security/tokens/").status_code == 302
    assert tablet.get("/profile/security/tokens/").status_code == 302
    assert laptop.get("/profile/security/tokens/").status_code == 200


def test_nobody_ends_someone_else_s_session(alice, bob):
    browser("alice's laptop")
    from allauth.usersessions.models import UserSession

    theirs = UserSession.objects.get(user=alice)
    client = Client()
    client.force_login(bob)
    assert client.post(f"/profile/security/sessions/{theirs.pk}/end/").status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()

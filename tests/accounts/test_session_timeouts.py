"""Signed-in sessions: 12 idle hours sign a person out, and so does a day since signing in.

Time passes by moving every instant a session keeps (its stamps and expiry date) into the past,
as the clock moving on would make them.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.sessions import ACTIVE_AT, SIGNED_IN_AT
from accounts.sudo import SESSION_KEY as PASSWORD_CONFIRMED_AT
from tests.helpers import PASSWORD

PAGE = "/profile/security/tokens/"
MINUTE = 60
HOUR = 60 * MINUTE


def sign_in() -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302
    return client


def session_of(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def rewrite(client: Client, change) -> None:
    row = session_of(client)
    data = row.get_decoded()
    change(data, row)
    row.session_data = SessionStore().encode(data)
    row.save()


def time_passes(client: Client, seconds: int) -> None:
    def earlier(data: dict, row: Session) -> None:
        for name in (SIGNED_IN_AT, ACTIVE_AT, PASSWORD_CONFIRMED_AT):
            if name in data:
                data[name] -= seconds
        if "_session_expiry" in data:
            expiry = datetime.fromisoformat(data["_session_expiry"])
            data["_session_expiry"] = (expiry - timedelta(seconds=seconds)).isoformat()
        row.expire_date -= timedelta(seconds=seconds)

    rewrite(client, earlier)


def session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"] and q["sql"].lstrip().startswith(("UPDATE", "INSERT"))
    ]


def test_signing_in_starts_a_session_that_lasts_twelve_idle_hours_not_two_weeks(alice):
    client = sign_in()

    lasts = session_of(client).expire_date - timezone.now()
    assert timedelta(hours=12) - timedelta(minutes=1) < lasts <= timedelta(hours=12)
    cookie_age = client.cookies[settings.SESSION_COOKIE_NAME]["max-age"]
    assert 12 * HOUR - MINUTE < int(cookie_age) <= 12 * HOUR


def test_twelve_idle_hours_sign_a_person_out(alice):
    client = sign_in()
    time_passes(client, 12 * HOUR + 1)

    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={PAGE}"


def test_using_the_portal_keeps_the_session_past_twelve_hours(alice):
    client = sign_in()
    for _ in range(2):
        time_passes(client, 11 * HOUR)
        assert client.get(PAGE).status_code == 200
    # 22 hours since signing in, 11 since the last page.


def test_a_day_after_signing_in_the_session_ends_however_busy(alice):
    client = sign_in()
    for _ in range(4):
        time_passes(client, 5 * HOUR + 50 * MINUTE)
        assert client.get(PAGE).status_code == 200
    time_passes(client, 41 * MINUTE)  # a day and a minute since signing in

    assert client.get(PAGE)["Location"] == f"/accounts/login/?next={PAGE}"


def test_reading_pages_writes_the_session_at_most_every_five_minutes(alice):
    client = sign_in()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(PAGE).status_code == 200
    assert session_writes(queries) == []

    time_passes(client, 5 * MINUTE)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(PAGE).status_code == 200
    assert len(session_writes(queries)) == 1
    lasts = session_of(client).expire_date - timezone.now()
    assert lasts > timedelta(hours=12) - timedelta(minutes=1)


def test_a_session_signed_in_before_the_timeouts_gets_them_at_its_next_page(alice):
    # Sessions of the previous release lasted two weeks and carry no stamps.
    client = sign_in()

    def as_before(data: dict, row: Session) -> None:
        for name in (SIGNED_IN_AT, ACTIVE_AT, "_session_expiry"):
            data.pop(name)
        row.expire_date = timezone.now() + timedelta(days=14)

    rewrite(client, as_before)

    assert client.get(PAGE).status_code == 200
    lasts = session_of(client).expire_date - timezone.now()
    assert timedelta(hours=12) - timedelta(minutes=1) < lasts <= timedelta(hours=12)
    time_passes(client, 12 * HOUR + 1)
    assert client.get(PAGE).status_code == 302

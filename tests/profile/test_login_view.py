"""Signing in at /accounts/login/ (django-allauth): people only, with a cool-off after repeated
failures. The old address, /login/, sends there."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.helpers import PASSWORD

LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"login": username, "password": password}, **extra)


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_it_shows_a_sign_in_form(db):
    response = Client().get(LOGIN)
    assert response.status_code == 200
    assert b'<label for="id_login">Username</label>' in response.content
    assert b'autocomplete="current-password"' in response.content


def test_a_person_signs_in_and_lands_on_their_tokens(alice):
    client = Client()
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == str(alice.pk)
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/profile/security/tokens/"


def test_it_returns_to_the_page_that_asked_for_sign_in(alice):
    client = Client()
    response = client.get("/profile/security/tokens/new/")
    assert response["Location"] == "/accounts/login/?next=/profile/security/tokens/new/"
    response = client.post(
        LOGIN,
        {"login": "alice", "password": PASSWORD, "next": "/profile/security/tokens/new/"},
    )
    assert response["Location"] == "/profile/security/tokens/new/"


def test_it_never_redirects_to_another_site_after_sign_in(alice):
    response = Client().post(
        LOGIN, {"login": "alice", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_with_a_message(alice):
    client = Client()
    response = attempt(client, "alice", "not the password")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert signed_in_as(client) is None


def test_a_system_user_cannot_sign_in_even_with_a_password(sync_app):
    # A system user never signs in; even if someone gave it a password, the backend refuses it.
    system_user = sync_app.system_user
    system_user.set_password(PASSWORD)
    system_user.save()
    client = Client()
    response = attempt(client, system_user.username, PASSWORD)
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert signed_in_as(client) is None


def test_an_inactive_person_cannot_sign_in(alice):
    alice.is_active = False
    alice.save()
    client = Client()
    assert attempt(client, "alice", PASSWORD).status_code == 200
    assert signed_in_as(client) is None


def test_a_signed_in_person_visiting_the_sign_in_page_goes_home(alice):
    client = Client()
    client.force_login(alice)
    assert client.get(LOGIN)["Location"] == "/"


def fail_until_locked(client: Client, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, username, "wrong").status_code == 200
    response = attempt(client, username, "wrong")
    assert response.status_code == 429


def test_repeated_failures_lock_that_username_and_address_with_a_clear_message(alice):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "alice", "wrong").status_code == 200
    response = attempt(client, "alice", "wrong")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert b"Try again in 15 minutes" in response.content
    # Now even the right password is refused, until the cool-off ends.
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_a_lock_does_not_stop_another_username_from_the_same_address(alice, bob):
    client = Client()
    fail_until_locked(client, "alice")
    response = attempt(client, "bob", PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == str(bob.pk)


def test_a_lock_does_not_stop_the_same_username_from_another_address(alice):
    # Someone guessing alice's password must not lock alice herself out from elsewhere.
    fail_until_locked(Client(), "alice")
    client = Client(REMOTE_ADDR="192.0.2.44")
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == str(alice.pk)


def test_the_lock_ends_after_the_cool_off(alice):
    client = Client()
    fail_until_locked(client, "alice")
    cool_off = timedelta(hours=settings.AXES_COOLOFF_TIME)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == str(alice.pk)


def guess_from_many_addresses(username: str, guesses: int) -> list[int]:
    """Wrong passwords for `username`, each from an address of its own (a botnet's way)."""
    return [
        attempt(
            Client(REMOTE_ADDR=f"198.51.{n // 250}.{n % 250 + 1}"), username, "wrong"
        ).status_code
        for n in range(guesses)
    ]


def test_guessing_one_password_from_many_addresses_pauses_that_username_everywhere(alice, bob):
    # No address reaches its own limit, but the username does: alice's password is safe from a
    # botnet, at the cost of alice waiting too (until a second factor lets her past).
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    assert limit > settings.AXES_FAILURE_LIMIT
    statuses = guess_from_many_addresses("alice", limit)
    assert statuses == [200] * (limit - 1) + [429]

    at_home = Client(REMOTE_ADDR="192.0.2.44")
    response = attempt(at_home, "alice", PASSWORD)
    assert response.status_code == 429
    assert signed_in_as(at_home) is None
    page = response.content.decode()
    assert f"is paused after {limit} failed attempts from several places" in page
    assert "Try again in 15 minutes" in page
    # Other people are not held back.
    assert attempt(at_home, "bob", PASSWORD).status_code == 302


def test_below_the_limit_per_username_the_person_still_signs_in(alice):
    guess_from_many_addresses("alice", settings.AXES_USERNAME_FAILURE_LIMIT - 1)
    client = Client(REMOTE_ADDR="192.0.2.44")
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == str(alice.pk)


def test_attempts_while_a_username_is_paused_do_not_prolong_the_pause(alice):
    # Refused before any password check, they test nothing: a guesser who keeps trying cannot
    # keep alice out, and the pause ends one cool-off after the failure that set it.
    guess_from_many_addresses("alice", settings.AXES_USERNAME_FAILURE_LIMIT)
    before = list(
        AccessAttempt.objects.order_by("pk").values_list("failures_since_start", "attempt_time")
    )
    for n in range(5):
        later = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        assert attempt(later, "alice", "still guessing").status_code == 429
    after = list(
        AccessAttempt.objects.order_by("pk").values_list("failures_since_start", "attempt_time")
    )
    assert after == before

    cool_off = timedelta(hours=settings.AXES_COOLOFF_TIME)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))
    client = Client(REMOTE_ADDR="192.0.2.44")
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert signed_in_as(client) == str(alice.pk)


@pytest.mark.parametrize("password", ["", "x" * 5000, "pässwörd ✓"])
def test_odd_passwords_are_refused_without_an_error(alice, password):
    assert attempt(Client(), "alice", password).status_code == 200


def test_behind_a_proxy_a_lock_holds_the_real_address_not_the_proxy_s(alice, behind_nginx):
    # Through nginx every caller's peer is the proxy: a guesser must not lock alice out for all.
    guesser = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    fail_until_locked(guesser, "alice")
    assert attempt(guesser, "alice", PASSWORD).status_code == 429

    alice_at_home = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert attempt(alice_at_home, "alice", PASSWORD).status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.66"


def test_a_forged_forwarded_for_does_not_escape_a_lock(alice, behind_nginx):
    # The guesser writes a new address in each request; the proxy appends the real one.
    for n in range(settings.AXES_FAILURE_LIMIT):
        forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 203.0.113.66")
        attempt(forged, "alice", "wrong")
    forged = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.99, 203.0.113.66")
    assert attempt(forged, "alice", PASSWORD).status_code == 429


def test_without_a_declared_proxy_the_header_is_not_believed(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"), "alice", "wrong")
    assert attempt(Client(HTTP_X_FORWARDED_FOR="10.9.9.99"), "alice", PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "next_url",
    [
        "/login/",
        "/login/?next=/login/",
        "/logout/",
        "/accounts/login/",
        "/accounts/logout/",
        "https://evil.example/",
        "//evil.example/",
        "\x00",
        "/\x00",
        "javascript:alert(1)",
    ],
)
def test_a_signed_in_person_is_never_sent_round_in_circles_or_away(alice, next_url):
    client = Client()
    client.force_login(alice)
    response = client.get(LOGIN, {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/profile/security/tokens/"


def test_a_signed_in_person_still_follows_a_next_of_this_site(alice):
    client = Client()
    client.force_login(alice)
    response = client.get(LOGIN, {"next": "/profile/security/tokens/new/"})
    assert response["Location"] == "/profile/security/tokens/new/"


def test_signing_in_with_next_pointing_at_sign_in_lands_on_the_tokens(alice):
    response = Client().post(
        LOGIN, {"login": "alice", "password": PASSWORD, "next": "/login/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/profile/security/tokens/"


@pytest.mark.parametrize(("username", "password"), [("ali\x00ce", PASSWORD), ("alice", "pass\x00")])
def test_a_nul_in_the_sign_in_form_is_refused_beside_its_field(alice, username, password):
    response = attempt(Client(), username, password)
    assert response.status_code == 200
    assert b"Null characters are not allowed." in response.content


@pytest.mark.parametrize(("old", "new"), [("/login/", LOGIN), ("/logout/", "/accounts/logout/")])
def test_the_old_addresses_send_to_the_new_keeping_the_method(old, new, alice):
    response = Client().post(f"{old}?next=/profile/", {"login": "alice"})
    assert response.status_code == 308
    assert response["Location"] == f"{new}?next=/profile/"
    assert Client().get(old)["Location"] == new


def test_the_admin_signs_in_on_the_same_page(admin_user):
    response = Client().get("/admin/login/", {"next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    client = Client()
    client.post(LOGIN, {"login": "admin", "password": PASSWORD, "next": "/admin/"})
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/")["Location"] == "/admin/"


def test_a_signed_in_person_who_is_not_staff_is_not_sent_round_the_admin_sign_in(alice):
    client = Client()
    client.force_login(alice)
    assert client.get("/admin/login/", {"next": "/admin/"}).status_code == 403


def test_nobody_signs_up(db):
    response = Client().post(
        "/accounts/signup/", {"username": "mallory", "password1": "x" * 20}, follow=True
    )
    assert b"Accounts are made by your administrator" in response.content
    assert not User.objects.filter(username="mallory").exists()

"""Profile → Security → Tokens: the list of one's own personal tokens."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.profile.conftest import HTMX
from tokens.models import ReferenceToken

URL = "/profile/security/tokens/"


@pytest.fixture
def issue(alice, sync_app):
    def issue(description: str, days: float = 30, user=None, scopes=None) -> ReferenceToken:
        return ReferenceToken.objects.issue_personal(
            user=user or alice,
            application=sync_app,
            expires_at=timezone.now() + timedelta(days=days),
            scopes=scopes,
            description=description,
        ).token

    return issue


def rows(response) -> list[str]:
    # Durations come with no-break spaces ("3\xa0days"); compare them as plain spaces.
    content = response.content.decode().replace("\xa0", " ")
    return re.findall(r'<tr id="token-\d+"[^>]*>.*?</tr>', content, re.S)


def test_it_needs_a_signed_in_person(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={URL}"


def test_it_lists_only_my_tokens_newest_first(alice_client, issue, bob):
    issue("first")
    issue("second")
    issue("bob's laptop", user=bob)  # bob's tokens are never shown to alice
    response = alice_client.get(URL)
    assert response.status_code == 200
    listed = rows(response)
    assert len(listed) == 2
    assert "second" in listed[0]
    assert "first" in listed[1]
    assert b"bob&#x27;s laptop" not in response.content


def test_a_row_shows_what_a_person_needs_to_recognise_a_token(
    alice_client, alice_token, read_scope
):
    token = alice_token.token
    row = rows(alice_client.get(URL))[0]
    assert "laptop sync" in row
    assert "Sync" in row
    assert "<code>read</code>" in row
    assert "<code>update</code>" in row
    assert f"enrt_…{token.hint}" in row
    assert "Expires in 4 weeks" in row
    assert "Never used" in row
    assert 'class="label label--active">Active<' in row
    assert f'hx-post="/profile/security/tokens/{token.pk}/revoke/"' in row
    # Only the hint: the token itself is never on the page.
    assert alice_token.plaintext not in row


def test_a_token_expiring_within_a_week_is_flagged(alice_client, issue):
    issue("soon", days=3.1)
    issue("later", days=8.1)
    soon, later = rows(alice_client.get(URL))[::-1]
    assert 'class="text-warning">Expires in 3 days<' in soon
    assert 'class="">Expires in 1 week<' in later


def test_last_use_is_shown_in_words(alice_client, alice_token):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3, minutes=5)
    )
    assert "3 hours ago" in rows(alice_client.get(URL))[0]


def test_revoked_and_expired_tokens_are_hidden_unless_asked_for(alice, alice_client, issue):
    issue("kept")
    issue("revoked").revoke(by=alice)
    expired = issue("expired")
    ReferenceToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(days=2)
    )

    response = alice_client.get(URL)
    assert [("kept" in row) for row in rows(response)] == [True]
    assert b"1 active token, 2 revoked or expired hidden." in response.content
    assert b'href="?show=all"' in response.content

    response = alice_client.get(URL + "?show=all")
    listed = rows(response)
    assert len(listed) == 3
    assert 'class="label label--expired">Expired<' in listed[0]
    assert "Expired 2 days ago" in listed[0]
    assert 'class="label label--revoked">Revoked<' in listed[1]
    # Neither can be revoked (again) from the list.
    assert "/revoke/" not in listed[0] + listed[1]


def test_someone_without_tokens_sees_how_to_create_one(alice_client):
    response = alice_client.get(URL)
    assert b"No tokens yet" in response.content
    assert b'href="/profile/security/tokens/new/"' in response.content


def test_an_htmx_request_gets_only_the_table(alice_client, alice_token):
    response = alice_client.get(URL + "?show=all", **HTMX)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'<table class="tokens">' in response.content
    assert len(rows(response)) == 1
    # Caches must keep the page and the fragment apart.
    assert "HX-Request" in response["Vary"]


def test_it_pages_through_many_tokens(alice_client, issue):
    for number in range(25):
        issue(f"token {number:02}")
    first = alice_client.get(URL)
    assert len(rows(first)) == 20
    assert "token 24" in rows(first)[0]
    assert b"Page 1 of 2" in first.content
    assert b'href="?page=2"' in first.content

    second = alice_client.get(URL + "?page=2")
    assert [re.search(r"token \d\d", row)[0] for row in rows(second)] == [
        "token 04",
        "token 03",
        "token 02",
        "token 01",
        "token 00",
    ]
    assert b"Page 2 of 2" in second.content


@pytest.mark.parametrize("page", ["999", "abc", "-1", "%00"])
def test_an_odd_page_number_shows_a_page_not_an_error(alice_client, issue, page):
    issue("only")
    response = alice_client.get(URL, {"page": page})
    assert response.status_code == 200
    assert len(rows(response)) == 1


def test_the_page_costs_the_same_queries_for_few_or_many_tokens(
    alice_client, issue, django_assert_num_queries, read_scope
):
    # session, user, counts, page count, tokens with their applications, their scopes, the
    # scopes their applications still allow (the status rule reads them)
    issue("one")
    with django_assert_num_queries(7):
        assert len(rows(alice_client.get(URL))) == 1
    for number in range(30):
        issue(f"more {number}", scopes=[read_scope] if number % 2 else None)
    with django_assert_num_queries(7):
        assert len(rows(alice_client.get(URL))) == 20
    with django_assert_num_queries(7):
        assert len(rows(alice_client.get(URL + "?show=all&page=2"))) == 11


def test_it_changes_nothing_on_post(alice_client):
    assert alice_client.post(URL).status_code == 405


def test_htmx_comes_from_this_site_and_carries_the_csrf_token(alice_client):
    content = alice_client.get(URL).content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in content
    assert not re.search(r'<script[^>]+src="(https?:)?//', content)  # no CDN
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"\w+\"\}'>", content)
    assert '<link rel="stylesheet" href="/static/css/portal.css">' in content

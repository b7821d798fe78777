"""Profile → Security → Personal access tokens: the list of one's own personal tokens."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.helpers import HTMX
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken

URL = "/profile/security/tokens/"


@pytest.fixture
def issue(alice, sync_app):
    def issue(description: str, days: int = 30, user=None, scopes=None) -> ReferenceToken:
        return lifecycle.issue_personal(
            user=user or alice,
            application=sync_app,
            expires_at=expiry_in_days(days),
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
    assert response["Location"] == f"/accounts/login/?next={URL}"


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
    # The exact date, and how far off it is.
    assert f"{token.expires_at:%-d %b %Y}</time>" in row
    assert "in 4 weeks" in row
    assert "Never" in row
    assert re.search(r'class="label label--active"[^>]*>Active<', row)
    assert f'hx-post="/profile/security/tokens/{token.pk}/revoke/"' in row
    # No native confirm(): without JavaScript the button leads to the confirmation page.
    assert "hx-confirm" not in row
    assert f'<form method="get" action="/profile/security/tokens/{token.pk}/revoke/"' in row
    # Only the hint: the token itself is never on the page.
    assert alice_token.plaintext not in row


def made_a_month_ago(*tokens: ReferenceToken) -> None:
    # Only tokens made to outlive the warning raise it (a week-long token is meant to end).
    ReferenceToken.objects.filter(pk__in=[t.pk for t in tokens]).update(
        created_at=timezone.now() - timedelta(days=30)
    )


def test_a_token_expiring_within_a_week_is_flagged(alice_client, issue):
    made_a_month_ago(issue("soon", days=4), issue("later", days=9))
    response = alice_client.get(URL)
    soon, later = rows(response)[::-1]
    assert '<span class="when text-warning"><svg class="icon"' in soon
    assert "in 3 days · expires soon" in soon
    assert "expires soon" not in later
    # A line above the table, with an icon, not only a colour.
    content = response.content.decode()
    assert '<p class="notice notice--warning" id="expiring-notice">' in content
    assert "1 token expires within 7 days." in content


def test_the_owner_sees_where_a_token_was_last_used_from(alice_client, alice_token):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3), last_used_ip="203.0.113.7"
    )
    row = rows(alice_client.get(URL))[0]
    assert '3 hours ago · from <code class="ip">203.0.113.7</code>' in row


@pytest.mark.parametrize(
    ("by", "reason", "said"),
    [
        ("owner", "Revoked by its owner in the portal", "by you<"),
        ("admin", "leaked in a public repository", "by an administrator (admin): “leaked in"),
        (None, "revoked by holder", "by its holder, at the revocation URL<"),
        (None, "rotated", "by an administrator, from the command line<"),
    ],
)
def test_the_owner_sees_who_revoked_a_token_and_why(
    alice, admin_user, alice_client, alice_token, by, reason, said
):
    actor = {"owner": alice, "admin": admin_user, None: None}[by]
    lifecycle.revoke_token(alice_token.token, by=actor, reason=reason)
    row = rows(alice_client.get(URL + "?show=all"))[0]
    assert said in row
    assert f"{timezone.now():%-d %b %Y} by" in row


def test_the_row_of_a_token_just_created_is_highlighted(alice_client, alice_token):
    row = rows(alice_client.get(f"{URL}?created={alice_token.token.pk}"))[0]
    assert "token-row--new" in row
    assert '<span class="label label--new">New</span>' in row


def test_last_use_is_shown_in_words(alice_client, alice_token):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3, minutes=5)
    )
    assert "3 hours ago" in rows(alice_client.get(URL))[0]


def test_revoked_and_expired_tokens_are_hidden_unless_asked_for(alice, alice_client, issue):
    issue("kept")
    lifecycle.revoke_token(issue("revoked"), by=alice)
    expired = issue("expired")
    ReferenceToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(days=2)
    )

    response = alice_client.get(URL)
    assert [("kept" in row) for row in rows(response)] == [True]
    assert b"1 active personal access token \xc2\xb7 2 revoked or expired</p>" in response.content
    assert b'href="?show=all"' in response.content

    response = alice_client.get(URL + "?show=all")
    listed = rows(response)
    assert len(listed) == 3
    assert re.search(r'class="label label--expired"[^>]*>Expired<', listed[0])
    assert "Expired 2 days ago" in listed[0]
    assert re.search(r'class="label label--revoked"[^>]*>Revoked<', listed[1])
    # Neither can be revoked (again) from the list.
    assert "/revoke/" not in listed[0] + listed[1]


def test_someone_without_tokens_sees_how_to_create_one(alice_client):
    response = alice_client.get(URL)
    content = response.content.decode()
    assert "No personal access tokens yet" in content
    # One call to action, and no "0 active tokens" above it.
    assert content.count('href="/profile/security/tokens/new/"') == 1
    assert "0 active" not in content


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
    # session, user, the dates of all and the facts of the current tokens (the counts come from
    # the status rule), page count, tokens with their applications, their scopes, the scopes
    # their applications still allow (the status rule reads them)
    issue("one")
    with django_assert_num_queries(8):
        assert len(rows(alice_client.get(URL))) == 1
    for number in range(30):
        issue(f"more {number}", scopes=[read_scope] if number % 2 else None)
    with django_assert_num_queries(8):
        assert len(rows(alice_client.get(URL))) == 20
    with django_assert_num_queries(8):
        assert len(rows(alice_client.get(URL + "?show=all&page=2"))) == 11


def test_it_changes_nothing_on_post(alice_client):
    assert alice_client.post(URL).status_code == 405


def test_htmx_comes_from_this_site_and_carries_the_csrf_token(alice_client):
    content = alice_client.get(URL).content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in content
    assert not re.search(r'<script[^>]+src="(https?:)?//', content)  # no CDN
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"\w+\"\}'>", content)
    assert '<link rel="stylesheet" href="/static/css/portal.css">' in content


def test_staff_see_a_link_to_the_administration_and_others_do_not(alice_client, carol):
    assert b">Administration</a>" not in alice_client.get(URL).content
    staff = Client()
    staff.force_login(carol)
    assert b'href="/admin/">Administration</a>' in staff.get(URL).content


def test_while_the_application_is_disabled_nothing_is_counted_as_active_or_told_to_rotate(
    alice_client, issue, sync_app
):
    # Issue 20, defect 6: the figures come from the status rule, as the validation URL answers.
    made_a_month_ago(issue("soon", days=3), issue("later"))
    sync_app.is_enabled = False
    sync_app.save()
    content = alice_client.get(URL).content.decode()
    assert "0 active personal access tokens · 2 suspended</p>" in content
    assert 'id="expiring-notice"' not in content
    sync_app.is_enabled = True
    sync_app.save()
    content = alice_client.get(URL).content.decode()
    assert "2 active personal access tokens</p>" in content
    assert 'id="expiring-notice"' in content


def test_a_token_just_made_to_last_a_week_raises_no_warning(alice_client, issue):
    # Issue 20, defect 17: its owner chose the date a moment ago.
    issue("a week", days=7)
    content = alice_client.get(URL).content.decode()
    assert 'id="expiring-notice"' not in content
    assert "expires soon" not in rows(alice_client.get(URL))[0]


def test_after_an_admin_revoked_everything_the_empty_list_says_who_and_why(
    alice_client, issue, admin_user
):
    # Issue 20, defect 19.
    for token in (issue("laptop"), issue("ci")):
        lifecycle.revoke_token(token, by=admin_user, reason="account under review")
    content = alice_client.get(URL).content.decode()
    assert "No active personal access tokens" in content
    said = re.search(r'<p id="last-revocation">(.*?)</p>', content, re.S).group(1)
    assert "by an administrator (admin): “account under review”" in said
    assert " UTC by " in said

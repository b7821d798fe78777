"""Create personal access token: the form, its refusals, and the token shown once."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from tests.helpers import HTMX, same_browser
from tokens.format import hash_token
from tokens.models import ReferenceToken, TokenEvent
from trustedapps.models import Scope

URL = "/profile/security/tokens/new/"
TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def in_days(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def fresh_form_key(client: Client) -> str:
    return re.search(r'name="form_key" value="([^"]+)"', client.get(URL).content.decode())[1]


def create(client: Client, app, extra: dict | None = None, **fields):
    data = {
        "application": app.pk,
        "description": "deploy bot",
        "expires_at": in_days(30),
        # Least privilege: the browser always sends at least one chosen scope.
        "scopes": [scope.pk for scope in app.allowed_scopes.all()[:1]],
        "form_key": fresh_form_key(client),
        **fields,
    }
    return client.post(URL, data, **(extra or {}))


def field_error(response, field: str) -> str:
    match = re.search(
        rf'<p class="field__error" id="{field}-errors">(.*?)</p>', response.content.decode()
    )
    return match[1] if match else ""


def test_it_needs_a_signed_in_person(db):
    assert Client().get(URL)["Location"] == f"/accounts/login/?next={URL}"


def test_the_form_offers_only_applications_this_person_may_issue_for(
    alice_client, sync_app, reports_app, closed_app
):
    content = alice_client.get(URL).content.decode()
    assert f'<option value="{sync_app.pk}" selected>Sync</option>' in content
    assert "Reports" not in content  # administrators only
    assert "Closed" not in content  # policy "none"


def test_an_administrator_is_offered_applications_for_administrators_too(
    carol, sync_app, reports_app
):
    client = Client()
    client.force_login(carol)
    content = client.get(URL).content.decode()
    assert f'<option value="{reports_app.pk}" selected>Reports</option>' in content
    assert f'<option value="{sync_app.pk}">Sync</option>' in content
    # Reports allows 30 days at most: the presets and the date field's limits say so.
    assert 'name="expires_in" value="30" checked' in content
    assert 'value="60"' not in content
    assert f'value="" min="{in_days(1)}" max="{in_days(30)}"' in content


def test_a_disabled_application_is_not_offered(alice_client, sync_app):
    sync_app.is_enabled = False
    sync_app.save()
    assert b"No application accepts personal tokens from you" in alice_client.get(URL).content


def test_the_expiry_defaults_to_30_days_and_stays_within_the_applications_limit(
    alice_client, sync_app
):
    content = alice_client.get(URL).content.decode()
    assert 'name="expires_in" value="30" checked' in content
    for days in (7, 60, 90):
        assert f'name="expires_in" value="{days}">' in content
    assert f'min="{in_days(1)}" max="{in_days(365)}"' in content
    assert "stops working at 00:00 UTC" in content


def test_the_scopes_are_the_chosen_applications_own(alice_client, sync_app, read_scope):
    Scope.objects.create(name="admin")  # exists, but Sync does not allow it
    content = alice_client.get(URL).content.decode()
    assert f'name="scopes" value="{read_scope.pk}"' in content
    assert "<code>update</code>" in content
    assert "<code>admin</code>" not in content


def test_it_creates_a_token_and_shows_it_once(alice, alice_client, sync_app, read_scope):
    response = create(alice_client, sync_app, scopes=[read_scope.pk], expires_at=in_days(10))
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    plaintext = TOKEN_RE.search(response.content.decode())[0]
    assert f"data-copy-source>{plaintext}</textarea>" in response.content.decode()
    assert b"It will not be shown again" in response.content

    token = ReferenceToken.objects.get()
    assert token.token_hash == hash_token(plaintext)
    assert token.user == alice
    assert token.application == sync_app
    assert token.description == "deploy bot"
    assert list(token.scopes.all()) == [read_scope]
    # It stops at 00:00 UTC of the chosen day.
    assert token.expires_at == datetime.combine(
        today() + timedelta(days=10), datetime.min.time(), UTC
    )
    assert TokenEvent.objects.get().action == "issued"


def test_without_a_chosen_scope_it_grants_nothing_and_says_so_beside_the_scopes(
    alice_client, sync_app
):
    # Least privilege: the browser never grants all of an application's scopes silently.
    response = create(alice_client, sync_app, scopes=[])
    assert response.status_code == 400
    assert field_error(response, "scopes") == "Choose at least one scope."
    assert ReferenceToken.objects.count() == 0


def test_a_preset_lifetime_expires_at_midnight_utc_that_many_days_ahead(alice_client, sync_app):
    assert create(alice_client, sync_app, expires_at="", expires_in="60").status_code == 201
    assert ReferenceToken.objects.get().expires_at == datetime.combine(
        today() + timedelta(days=60), datetime.min.time(), UTC
    )


def test_a_preset_beyond_the_applications_longest_lifetime_is_refused(carol, reports_app):
    client = Client()
    client.force_login(carol)
    response = create(client, reports_app, expires_at="", expires_in="90")
    assert response.status_code == 400
    assert field_error(response, "expires") == "Choose one of the lifetimes offered, or a date."


def test_a_cleared_expiry_comes_back_empty_beside_its_error(alice_client, sync_app):
    response = create(alice_client, sync_app, expires_at="", expires_in="custom")
    assert response.status_code == 400
    content = response.content.decode()
    assert field_error(response, "expires") == "Choose an expiration date."
    assert 'name="expires_at" id="id_expires_at" value=""' in content
    assert 'name="expires_in" value="custom" checked' in content


def test_a_failed_submit_has_an_error_summary_and_says_so_in_the_title(alice_client, sync_app):
    response = create(alice_client, sync_app, description="", scopes=[])
    content = response.content.decode()
    assert "<title>Error: Create personal access token · Token portal</title>" in content
    assert 'id="error-summary" tabindex="-1" role="alert"' in content
    assert "There are 2 problems" in content
    assert '<a href="#scopes">Choose at least one scope.</a>' in content


def test_the_token_exists_only_in_that_one_response(alice_client, sync_app):
    response = create(alice_client, sync_app)
    plaintext = TOKEN_RE.search(response.content.decode())[0]

    # Not in the database: not on the token, not in its audit trail, not in any session.
    token = ReferenceToken.objects.get()
    assert plaintext not in repr(list(ReferenceToken.objects.values()))
    assert plaintext not in repr(list(TokenEvent.objects.values()))
    assert all(plaintext not in str(s.get_decoded()) for s in Session.objects.all())
    assert plaintext not in str(dict(alice_client.session))
    # Not in a message for the next page, nor on any page after.
    assert list(get_messages(response.wsgi_request)) == []
    for url in ["/profile/security/tokens/", "/profile/security/tokens/?show=all", URL]:
        page = alice_client.get(url)
        assert plaintext.encode() not in page.content
        assert plaintext[:-4].encode() not in page.content
    assert token.hint == plaintext[-4:]


def test_resubmitting_the_same_form_creates_no_second_token(alice_client, sync_app):
    # A reload of the shown-once page, or the back button, sends the same form again.
    data = {
        "application": sync_app.pk,
        "description": "once",
        "expires_at": in_days(5),
        "scopes": [sync_app.allowed_scopes.first().pk],
        "form_key": fresh_form_key(alice_client),
    }
    first = alice_client.post(URL, data)
    assert first.status_code == 201
    again = alice_client.post(URL, data)
    assert again.status_code == 302
    assert again["Location"] == "/profile/security/tokens/"
    assert ReferenceToken.objects.count() == 1
    assert TOKEN_RE.search(again.content.decode()) is None
    page = alice_client.get(again["Location"])
    assert b"That form was already used, so no new token was created." in page.content


@pytest.mark.parametrize("form_key", ["made-up", "", "n" * 5000])
def test_a_form_whose_key_this_session_was_not_given_creates_nothing(
    alice_client, sync_app, form_key
):
    response = create(alice_client, sync_app, form_key=form_key)
    assert response.status_code == 302
    assert ReferenceToken.objects.count() == 0


def test_a_form_without_any_key_creates_nothing(alice_client, sync_app):
    data = {
        "application": sync_app.pk,
        "description": "x",
        "expires_at": in_days(3),
        "scopes": [sync_app.allowed_scopes.first().pk],
    }
    response = alice_client.post(URL, data)
    assert response.status_code == 302
    assert ReferenceToken.objects.count() == 0


def test_a_refused_form_keeps_its_key_for_the_corrected_submission(alice_client, sync_app):
    form_key = fresh_form_key(alice_client)
    data = {
        "application": sync_app.pk,
        "expires_at": in_days(5),
        "scopes": [sync_app.allowed_scopes.first().pk],
        "form_key": form_key,
    }
    assert alice_client.post(URL, {**data, "description": ""}).status_code == 400
    assert alice_client.post(URL, {**data, "description": "fixed"}).status_code == 201


def test_an_htmx_request_gets_the_same_shown_once_page(alice_client, sync_app):
    response = create(alice_client, sync_app, extra=HTMX)
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert TOKEN_RE.search(response.content.decode())


def test_it_refuses_an_application_this_person_may_not_issue_for(
    alice_client, sync_app, reports_app
):
    response = create(alice_client, reports_app)
    assert response.status_code == 400
    assert field_error(response, "application") == "You cannot create tokens for that application."
    assert ReferenceToken.objects.count() == 0


def test_it_refuses_an_application_whose_policy_is_none(alice_client, sync_app, closed_app):
    response = create(alice_client, closed_app)
    assert field_error(response, "application") == "You cannot create tokens for that application."
    assert ReferenceToken.objects.count() == 0


def test_it_refuses_a_scope_of_another_application(alice_client, sync_app, read_scope):
    admin_scope = Scope.objects.create(name="admin")
    response = create(alice_client, sync_app, scopes=[read_scope.pk, admin_scope.pk])
    assert response.status_code == 400
    assert field_error(response, "scopes") == "Sync does not allow the scope(s): admin."
    assert ReferenceToken.objects.count() == 0


@pytest.mark.parametrize("scope", ["999999", "9" * 30, "abc", "\x00"])
def test_it_refuses_a_scope_that_does_not_exist(alice_client, sync_app, scope):
    response = create(alice_client, sync_app, scopes=[scope])
    assert response.status_code == 400
    assert field_error(response, "scopes")
    assert ReferenceToken.objects.count() == 0


@pytest.mark.parametrize("application", ["9" * 30, "abc", "-1", ""])
def test_it_refuses_an_application_id_that_is_no_id(alice_client, sync_app, application):
    response = create(alice_client, sync_app, application=application)
    assert response.status_code == 400
    assert field_error(response, "application")
    assert ReferenceToken.objects.count() == 0


def test_it_refuses_an_application_without_scopes(alice_client, sync_app):
    # The model's own refusal lands beside the field it names.
    sync_app.allowed_scopes.clear()
    response = create(alice_client, sync_app)
    assert response.status_code == 400
    assert field_error(response, "scopes") == "Choose at least one scope."
    assert "Sync allows no scopes, so it cannot have tokens yet." in response.content.decode()


@pytest.mark.parametrize("days", [0, -1, -3650])
def test_it_refuses_an_expiry_today_or_in_the_past(alice_client, sync_app, days):
    response = create(alice_client, sync_app, expires_at=in_days(days))
    assert response.status_code == 400
    assert field_error(response, "expires") == "Choose a date from tomorrow on."
    assert ReferenceToken.objects.count() == 0


def test_it_refuses_an_expiry_beyond_the_applications_longest_lifetime(alice_client, sync_app):
    response = create(alice_client, sync_app, expires_at=in_days(366))
    assert response.status_code == 400
    assert field_error(response, "expires") == (
        f"Sync allows tokens of at most 365 days: choose "
        f"{today() + timedelta(days=365):%-d %b %Y} or earlier."
    )
    assert ReferenceToken.objects.count() == 0


def test_it_accepts_the_first_and_the_last_allowed_days(alice_client, sync_app):
    assert create(alice_client, sync_app, expires_at=in_days(1)).status_code == 201
    assert create(alice_client, sync_app, expires_at=in_days(365)).status_code == 201


@pytest.mark.parametrize("value", ["", "tomorrow", "2026-02-30", "9999999-01-01"])
def test_it_refuses_a_missing_or_malformed_date(alice_client, sync_app, value):
    response = create(alice_client, sync_app, expires_at=value)
    assert response.status_code == 400
    assert field_error(response, "expires") in {
        "Choose an expiration date.",
        "Enter a date, such as 2027-01-31.",
    }


def test_it_refuses_a_description_that_is_too_long(alice_client, sync_app):
    response = create(alice_client, sync_app, description="x" * 129)
    assert response.status_code == 400
    assert field_error(response, "description") == (
        "Ensure this value has at most 128 characters (it has 129)."
    )
    assert ReferenceToken.objects.count() == 0


def test_it_refuses_a_missing_description(alice_client, sync_app):
    response = create(alice_client, sync_app, description="   ")
    assert field_error(response, "description").startswith("Say what this token is for")


def test_a_refused_form_keeps_what_was_typed(alice_client, sync_app, read_scope):
    response = create(
        alice_client,
        sync_app,
        description="<b>mine</b>",
        scopes=[read_scope.pk],
        expires_at=in_days(0),
    )
    content = response.content.decode()
    assert 'value="&lt;b&gt;mine&lt;/b&gt;"' in content  # escaped, never markup
    assert f'value="{read_scope.pk}" checked' in content
    assert f'value="{in_days(0)}"' in content


def test_choosing_an_application_without_javascript_creates_nothing(carol, sync_app, reports_app):
    client = Client()
    client.force_login(carol)
    response = client.post(
        URL,
        {
            "choose_application": "1",
            "application": sync_app.pk,
            "description": "half typed",
            "form_key": fresh_form_key(client),
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert f'<option value="{sync_app.pk}" selected>Sync</option>' in content
    assert "<code>update</code>" in content  # Sync's scopes, not Reports'
    assert 'value="half typed"' in content
    assert field_error(response, "expires") == ""
    assert ReferenceToken.objects.count() == 0


def test_switching_to_an_application_with_a_shorter_limit_clamps_the_date_and_says_so(
    carol, sync_app, reports_app
):
    # Without JavaScript: the "Show its scopes and limits" step. Reports allows 30 days.
    client = Client()
    client.force_login(carol)
    data = {"choose_application": "1", "application": reports_app.pk, "description": "d"}
    response = client.post(
        URL, {**data, "expires_at": in_days(200), "form_key": fresh_form_key(client)}
    )
    content = response.content.decode()
    limit = today() + timedelta(days=30)
    assert f'name="expires_at" id="id_expires_at" value="{limit.isoformat()}"' in content
    assert f"the expiration date moved to {limit:%-d %b %Y}" in content
    # A preset it does not offer becomes its longest one.
    response = client.post(URL, {**data, "expires_in": "90", "form_key": fresh_form_key(client)})
    content = response.content.decode()
    assert 'name="expires_in" value="30" checked' in content
    assert "Reports allows tokens of at most 30 days: the expiration is now 30 days." in content


def test_select_all_without_javascript_ticks_every_scope(alice_client, sync_app):
    response = alice_client.post(
        URL,
        {
            "select_all_scopes": "1",
            "application": sync_app.pk,
            "description": "d",
            "form_key": fresh_form_key(alice_client),
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    for scope in sync_app.allowed_scopes.all():
        assert f'value="{scope.pk}" checked' in content
    assert ReferenceToken.objects.count() == 0


def test_it_needs_the_csrf_token(alice, sync_app):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(
        URL,
        {"application": sync_app.pk, "description": "x", "expires_at": in_days(3), "form_key": "n"},
    )
    assert response.status_code == 403
    assert ReferenceToken.objects.count() == 0


def test_it_answers_other_methods_with_405(alice_client):
    assert alice_client.put(URL).status_code == 405
    assert alice_client.delete(URL).status_code == 405


# Races (PostgreSQL): the database, not the session, makes "one form, one token" hold.


def test_one_form_posted_by_many_requests_at_once_issues_one_token(alice_client, sync_app, race):
    # A double click, or a form replayed from several tabs at the same moment.
    data = {
        "application": sync_app.pk,
        "description": "double click",
        "expires_at": in_days(5),
        "scopes": [sync_app.allowed_scopes.first().pk],
        "form_key": fresh_form_key(alice_client),
    }
    statuses = race(lambda i: same_browser(alice_client).post(URL, data).status_code)
    assert sorted(statuses) == [201] + [302] * (len(statuses) - 1)
    assert ReferenceToken.objects.count() == 1
    assert TokenEvent.objects.count() == 1


def test_a_burst_of_forms_of_one_session_issues_once_each_and_never_again(
    alice_client, sync_app, race
):
    # Ten forms opened in tabs and sent together, then all sent again (a reload of each tab).
    keys = race(lambda i: fresh_form_key(same_browser(alice_client)), n=10)
    forms = [
        {
            "application": sync_app.pk,
            "description": f"tab {i}",
            "expires_at": in_days(5),
            "scopes": [sync_app.allowed_scopes.first().pk],
            "form_key": key,
        }
        for i, key in enumerate(keys)
    ]
    first = race(lambda i: same_browser(alice_client).post(URL, forms[i]).status_code, n=10)
    assert first == [201] * 10
    again = race(lambda i: same_browser(alice_client).post(URL, forms[i]).status_code, n=10)
    assert again == [302] * 10
    assert ReferenceToken.objects.count() == 10


@pytest.mark.parametrize("field", ["description", "expires_at", "expires_in", "application"])
def test_a_nul_in_any_field_is_refused_without_a_query_error(alice_client, sync_app, field):
    response = create(alice_client, sync_app, **{field: "a\x00b"})
    assert response.status_code == 400
    assert ReferenceToken.objects.count() == 0


def test_the_shown_once_page_offers_a_command_that_tries_the_token(alice_client, sync_app):
    # Issue 20, beyond the anchors: a ready-to-paste curl to /api/tokens/self, with the token in
    # a shell variable, so the page holds the plaintext once (in the shown-once field) only.
    response = create(alice_client, sync_app)
    assert response.status_code == 201
    content = response.content.decode()
    assert 'curl -H "Authorization: Bearer $TOKEN" http://testserver/api/tokens/self' in content
    token = re.search(r"enrt_[0-9A-F]{64}", content).group(0)
    assert content.count(token) == 1

"""The "Create service access token" view: who may issue a SAT, the refusals, the shown-once
page."""

import re
from datetime import UTC, datetime, timedelta

from django.contrib.admin.models import LogEntry
from django.utils import timezone

from tests.helpers import grant, in_days, same_browser, signed_in, stored_anywhere
from tokens.models import ReferenceToken, TokenKind
from tokens.validation.checks import check_for_holder, check_for_resource_server
from trustedapps.models import TokenPolicy

TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")


def url(app) -> str:
    return f"/admin/trustedapps/trustedapplication/{app.pk}/create-token/"


def open_form(client, app) -> str:
    """Open the form, as a person would: its one-time key ("" when the page is refused)."""
    opened = client.get(url(app))
    return opened.context["form"].initial["form_key"] if opened.status_code == 200 else ""


def form_data(app, form_key: str | None, **data) -> dict:
    """A filled-in form, with `form_key` (or without that field when None)."""
    payload = {
        "description": "nightly export",
        "expires_at": in_days(30),
        # Least privilege: an admin, too, ticks at least one scope.
        "scopes": [s.pk for s in app.allowed_scopes.all()[:1]],
        "form_key": form_key,
        **data,
    }
    return {name: value for name, value in payload.items() if value is not None}


def issue(client, app, **data):
    """Open the form, then send it with its one-time key."""
    return client.post(url(app), form_data(app, open_form(client, app), **data))


def test_the_form_offers_the_apps_scopes_and_a_30_day_default(as_admin, sync_app, closed_app):
    response = as_admin.get(url(sync_app))
    assert response.status_code == 200
    form = response.context["form"]
    assert {s.name for s in form.fields["scopes"].queryset} == {"read", "update"}
    # Issue 20, defect 14: the default lifetime as the profile's form offers it, a preset.
    assert form.initial["expires_in"] == "30"
    assert 'name="expires_in" value="30" checked' in response.content.decode()
    assert "app.com.example-sync" in response.content.decode()  # whom the token acts as


def test_the_default_expiry_is_capped_to_the_apps_longest_lifetime(as_admin, reports_app):
    reports_app.max_token_lifetime_days = 7
    reports_app.save()
    form = as_admin.get(url(reports_app)).context["form"]
    assert form.initial["expires_in"] == "7"


def test_the_form_offers_the_profiles_presets_within_the_apps_longest_lifetime(
    as_admin, reports_app
):
    # Issue 20, defect 14: one issuing form, one experience, in both consoles.
    reports_app.max_token_lifetime_days = 30
    reports_app.save()
    body = as_admin.get(url(reports_app)).content.decode()
    for days in ("7", "30"):
        assert f'type="radio" name="expires_in" value="{days}"' in body
    assert 'value="60"' not in body and 'value="90"' not in body
    assert 'name="expires_in" value="custom"' in body
    assert f"{reports_app.name} allows at most 30 days" in body


def test_a_preset_sets_the_expiry(as_admin, sync_app):
    response = issue(as_admin, sync_app, expires_at="", expires_in="7")
    assert response.status_code == 200
    expected = datetime.fromisoformat(in_days(7)).replace(tzinfo=UTC)
    assert ReferenceToken.objects.get().expires_at == expected


def test_an_expiry_error_links_to_the_lifetime_choices(as_admin, sync_app):
    body = issue(as_admin, sync_app, expires_at="", expires_in="custom").content.decode()
    assert '<a href="#expiry-presets">Expires on (UTC)</a>: Choose an expiration date.' in body
    assert 'id="expiry-presets"' in body


def test_an_admin_gets_a_token_shown_once_that_acts_as_the_system_user(
    as_admin, admin_user, sync_app, read_scope, orders_api
):
    response = issue(as_admin, sync_app, scopes=[read_scope.pk])

    assert response.status_code == 200  # rendered, not redirected: the only place it exists
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    plaintext = TOKEN_RE.search(body).group(0)
    assert "will not be shown again" in body
    assert "readonly" in body and "Copy" in body

    token = ReferenceToken.objects.get()
    assert token.kind == TokenKind.SERVICE
    assert token.user == sync_app.system_user
    assert token.created_by == admin_user
    assert token.description == "nightly export"
    active = check_for_resource_server(
        plaintext, client_id=orders_api.client_id, client_secret=orders_api.secret
    )
    assert active.username == "app.com.example-sync"
    assert active.scopes == ("read",)


def test_the_token_stops_at_midnight_utc_starting_the_chosen_day(as_admin, sync_app):
    # The same rule as personal tokens of the profile pages.
    issue(as_admin, sync_app, expires_at=in_days(10))
    expected = datetime.combine(
        timezone.now().astimezone(UTC).date() + timedelta(days=10), datetime.min.time(), UTC
    )
    assert ReferenceToken.objects.get().expires_at == expected


def test_the_last_allowed_day_is_accepted(as_admin, reports_app):
    response = issue(as_admin, reports_app, expires_at=in_days(30))
    assert response.status_code == 200
    token = ReferenceToken.objects.get()
    assert token.expires_at <= timezone.now() + timedelta(days=30)


def test_no_scope_ticked_is_refused_beside_the_scopes(as_admin, sync_app):
    response = issue(as_admin, sync_app, scopes=[])
    assert response.status_code == 200
    assert "Choose at least one scope." in response.content.decode()
    assert ReferenceToken.objects.count() == 0


def test_the_form_has_no_stray_nonce_row_and_friendly_errors(as_admin, sync_app):
    response = issue(as_admin, sync_app, description="", expires_at="")
    body = response.content.decode()
    assert "field-form_key" not in body and "Nonce" not in body
    assert "Say what this token is for" in body
    assert "Choose an expiration date." in body
    assert "This field is required" not in body


def test_neither_the_database_nor_the_admin_history_holds_the_token(as_admin, sync_app):
    response = issue(as_admin, sync_app)
    plaintext = TOKEN_RE.search(response.content.decode()).group(0)

    assert stored_anywhere(plaintext) == []
    entry = LogEntry.objects.get()
    token = ReferenceToken.objects.get()
    assert entry.get_change_message() == (
        f"Issued service access token {token.masked} (nightly export)."
    )
    assert plaintext not in entry.change_message + entry.object_repr
    assert plaintext not in str(as_admin.cookies)  # nor in the messages cookie


def test_a_date_beyond_the_apps_longest_lifetime_is_refused(as_admin, reports_app):
    response = issue(as_admin, reports_app, expires_at=in_days(31))
    assert response.status_code == 200
    assert "at most 30 days" in str(response.context["form"].errors["expires_at"])
    assert not ReferenceToken.objects.exists()


def test_a_past_date_is_refused(as_admin, sync_app):
    response = issue(as_admin, sync_app, expires_at=in_days(0))
    assert response.context["form"].errors["expires_at"]
    assert not ReferenceToken.objects.exists()


def test_a_scope_the_app_does_not_allow_is_refused(as_admin, reports_app, update_scope):
    response = issue(as_admin, reports_app, scopes=[update_scope.pk])
    assert response.context["form"].errors["scopes"]
    assert not ReferenceToken.objects.exists()


def test_a_description_is_required(as_admin, sync_app):
    response = issue(as_admin, sync_app, description="  ")
    assert response.context["form"].errors["description"]
    assert not ReferenceToken.objects.exists()


def test_carol_may_issue_with_the_permission_and_sight_of_the_apps(carol, sync_app):
    carol = grant(carol, "view_trustedapplication")
    response = issue(signed_in(carol), sync_app)
    assert response.status_code == 200
    assert ReferenceToken.objects.get().created_by == carol


def test_carol_without_sight_of_the_apps_gets_403(carol, sync_app):
    assert issue(signed_in(carol), sync_app).status_code == 403


def test_staff_who_may_edit_apps_but_not_issue_tokens_get_403(dave, sync_app):
    client = signed_in(dave)
    assert client.get(url(sync_app)).status_code == 403
    assert issue(client, sync_app).status_code == 403
    assert not ReferenceToken.objects.exists()


def test_a_person_who_is_not_staff_is_sent_to_the_admin_sign_in(alice, sync_app):
    response = issue(signed_in(alice), sync_app)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not ReferenceToken.objects.exists()


def test_an_unknown_application_is_404(as_admin):
    assert (
        as_admin.get("/admin/trustedapps/trustedapplication/999999/create-token/").status_code
        == 404
    )
    assert (
        as_admin.get("/admin/trustedapps/trustedapplication/abc/create-token/").status_code == 404
    )


def test_an_app_with_policy_none_refuses_with_the_reason(as_admin, closed_app):
    response = issue(as_admin, closed_app)
    assert response.status_code == 302
    assert not ReferenceToken.objects.exists()
    page = as_admin.get(response["Location"]).content.decode()
    assert "policy is &#x27;none&#x27;" in page


def test_a_disabled_app_refuses(as_admin, sync_app):
    sync_app.is_enabled = False
    sync_app.save()
    assert issue(as_admin, sync_app).status_code == 302
    assert not ReferenceToken.objects.exists()


def test_an_app_without_a_system_user_refuses(as_admin, sync_app):
    sync_app.has_system_user = False
    sync_app.token_policy = TokenPolicy.AUTHENTICATED_USERS
    sync_app.save()
    assert issue(as_admin, sync_app).status_code == 302
    assert not ReferenceToken.objects.exists()


def test_a_post_without_csrf_is_refused(admin_user, sync_app):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = issue(client, sync_app)
    assert response.status_code == 403
    assert not ReferenceToken.objects.exists()


def test_the_token_stops_working_when_the_app_loses_its_system_user(as_admin, sync_app):
    plaintext = TOKEN_RE.search(issue(as_admin, sync_app).content.decode()).group(0)
    assert check_for_holder(plaintext) is not None
    sync_app.has_system_user = False
    sync_app.save()
    assert check_for_holder(plaintext) is None


def test_sending_the_same_form_twice_issues_one_token(as_admin, sync_app):
    # A reload of the shown-once page re-posts the form: it must not issue (or show) another.
    payload = form_data(sync_app, open_form(as_admin, sync_app))
    assert as_admin.post(url(sync_app), payload).status_code == 200
    again = as_admin.post(url(sync_app), payload)
    assert again.status_code == 302
    assert ReferenceToken.objects.count() == 1
    assert "enrt_" not in as_admin.get(again["Location"]).content.decode().replace("enrt_…", "")


def test_a_form_without_its_one_time_key_issues_nothing(as_admin, sync_app):
    payload = form_data(sync_app, form_key=None)
    assert as_admin.post(url(sync_app), payload).status_code == 302
    assert not ReferenceToken.objects.exists()


def test_a_scope_id_past_the_database_range_is_a_field_error(as_admin, sync_app):
    response = issue(as_admin, sync_app, scopes=["99999999999999999999999"])
    assert response.status_code == 200
    assert "scopes" in response.context["form"].errors
    assert not ReferenceToken.objects.exists()


def test_one_form_posted_by_many_requests_at_once_issues_one_token(as_admin, sync_app, race):
    # Two admins' worth of double clicks on one form: one token, every other post a resubmission.
    payload = form_data(sync_app, open_form(as_admin, sync_app))
    statuses = race(lambda i: same_browser(as_admin).post(url(sync_app), payload).status_code)
    assert sorted(statuses) == [200] + [302] * (len(statuses) - 1)
    assert ReferenceToken.objects.count() == 1
    assert LogEntry.objects.count() == 1


def test_the_form_says_the_longest_lifetime_describes_scopes_and_links_its_errors(
    as_admin, sync_app, read_scope
):
    # Issue 20, defect 14 (in part): one issuing experience in both consoles.
    read_scope.description = "Read the application's data"
    read_scope.save()
    page = as_admin.get(url(sync_app)).content.decode()
    assert f"Sync allows at most {sync_app.max_token_lifetime.days} days (until " in page
    assert "read — Read the application&#x27;s data" in page
    refused = issue(as_admin, sync_app, description="", scopes=[]).content.decode()
    assert '<a href="#id_description">Description</a>' in refused
    assert '<a href="#id_scopes_0">Scopes</a>' in refused

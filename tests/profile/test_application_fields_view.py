"""The expiry and scope fields that htmx swaps in when the chosen application changes."""

from datetime import UTC, timedelta

from django.test import Client
from django.utils import timezone

from tests.helpers import HTMX

URL = "/profile/security/tokens/new/application-fields/"


def in_days(days: int) -> str:
    return (timezone.now().astimezone(UTC).date() + timedelta(days=days)).isoformat()


def test_it_shows_the_scopes_and_limits_of_the_chosen_application(carol, reports_app, sync_app):
    client = Client()
    client.force_login(carol)
    response = client.get(URL, {"application": reports_app.pk}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content
    assert "<code>read</code>" in content
    assert "<code>update</code>" not in content  # Sync's, not Reports'
    assert f'max="{in_days(30)}"' in content
    assert "Reports allows at most 30 days" in content


def test_it_keeps_the_date_and_the_scopes_already_chosen(alice_client, sync_app, read_scope):
    response = alice_client.get(
        URL,
        {"application": sync_app.pk, "expires_at": in_days(12), "scopes": [read_scope.pk]},
        **HTMX,
    )
    content = response.content.decode()
    assert f'value="{in_days(12)}"' in content
    assert f'value="{read_scope.pk}" checked' in content


def test_an_application_this_person_may_not_use_is_not_found(alice_client, reports_app):
    # alice is no administrator: Reports's fields are none of her business.
    assert alice_client.get(URL, {"application": reports_app.pk}, **HTMX).status_code == 404


def test_an_odd_application_id_is_not_found(alice_client, sync_app):
    for value in ["abc", "99999", "1.5", "-1", "9" * 30, "\u0661"]:
        assert alice_client.get(URL, {"application": value}).status_code == 404


def test_it_needs_a_signed_in_person(sync_app):
    response = Client().get(URL, {"application": sync_app.pk})
    assert response.status_code == 302


def test_it_changes_nothing_on_post(alice_client, sync_app):
    assert alice_client.post(URL, {"application": sync_app.pk}).status_code == 405

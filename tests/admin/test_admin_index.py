"""The admin's index: a dashboard whose figures link to the lists they count, then the sections
in the order an instance admin works."""

import re
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import timezone

from tests.helpers import signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken

INDEX = "/admin/"


def figures(page: str) -> dict[str, tuple[str, str]]:
    """{label: (number, link)} of the dashboard."""
    found = re.findall(
        r'<a href="([^"]+)"[^>]*>\s*<span class="figure">([^<]+)</span>\s*'
        r'<span class="figure-label">([^<]+)</span>',
        page,
    )
    return {label: (number, href.replace("&amp;", "&")) for href, number, label in found}


def test_the_dashboard_counts_and_links_to_each_filtered_list(
    as_admin, alice, alice_token, sync_service_token, sync_app, in_30_days
):
    now = timezone.now()
    soon = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(3)
    ).token
    ReferenceToken.objects.filter(pk=soon.pk).update(created_at=now - timedelta(days=100))
    revoked = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=in_30_days
    ).token
    lifecycle.revoke_token(revoked, by=alice, reason="lost")
    AccessAttempt.objects.create(
        username="bob",
        ip_address="203.0.113.9",
        user_agent="test",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="",
        post_data="",
    )

    shown = figures(as_admin.get(INDEX).content.decode())
    tokens = "/admin/tokens/referencetoken/"
    assert shown["Current personal access tokens"] == (
        "2",
        f"{tokens}?kind__exact=personal&status=live",
    )
    assert shown["Current service access tokens"] == (
        "1",
        f"{tokens}?kind__exact=service&status=live",
    )
    assert shown["Expiring within 7 days"] == ("1", f"{tokens}?expires=7d")
    assert shown["Unused for 90 days"] == ("1", f"{tokens}?unused=90d")
    assert shown["Revoked in the last 7 days"] == ("1", f"{tokens}?revoked=7d")
    # The people, each one click from Unlock (issue 20, defect 13).
    assert shown["Locked-out sign-ins"] == ("1", "/admin/accounts/user/?locked=yes")
    # Each link lists exactly what its figure counts.
    for label, (number, link) in shown.items():
        if link.startswith(tokens):
            response = as_admin.get(link)
            assert response.status_code == 200, label
            assert response.context["cl"].result_count == int(number), label


def test_the_latest_audit_events_are_on_the_index(as_admin, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice, reason="new laptop")
    page = as_admin.get(INDEX).content.decode()
    assert "Latest audit events" in page
    assert "Revoked: new laptop" in page
    assert alice_token.token.masked in page


def test_the_sections_come_in_working_order(as_admin):
    page = as_admin.get(INDEX).content.decode()
    order = [page.index(f'class="app-{label} module') for label in ("trustedapps", "tokens")]
    order += [page.index('class="app-accounts module'), page.index('class="app-axes module')]
    assert order == sorted(order)
    # Groups sit with the users; django-axes' section has a plain name.
    assert 'class="app-auth module' not in page
    assert "Sign-in protection" in page


def test_staff_without_token_permissions_see_no_figures(erin):
    page = signed_in(erin).get(INDEX).content.decode()
    assert "At a glance" not in page
    assert "Latest audit events" not in page


def test_recent_actions_show_no_raw_timestamps(as_admin, admin_user):
    from django.contrib.admin.models import DELETION, LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get_for_model(AccessAttempt),
        object_id="1",
        object_repr="Attempted Access: 2026-11-28 19:07:21.123456+00:00",
        action_flag=DELETION,
    )
    page = as_admin.get(INDEX).content.decode()
    assert "Attempted Access: 28 Nov 2026, 19:07" in page
    assert ".123456" not in page


def test_admin_pages_have_a_favicon_and_the_portals_stylesheet(as_admin):
    page = as_admin.get(INDEX).content.decode()
    assert 'rel="icon" href="/static/img/favicon.svg"' in page
    assert "/static/css/admin.css" in page
    assert finders.find("img/favicon.svg")

"""Every profile page and the main admin pages at 320, 390, 768, 1024, 1280 and 1440 px: no
control cut off or off the screen, no page that scrolls sideways, and no serious or critical
accessibility violation (axe-core). Screenshots of each go to artifacts/screenshots/.

One page load per page and mode: the widths are set on the loaded page, so the suite stays fast.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    SCREENSHOTS,
    check_accessibility,
    check_every_width,
    new_page,
    sign_in_at,
)
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken


@pytest.fixture
def lived_in(admin_user, alice, sync_app, reports_app, read_scope, update_scope):
    """Tokens of every kind and state, with long names, as real instances have them."""
    now = timezone.now()

    def issue(user, app, description, days, scopes=None) -> ReferenceToken:
        return lifecycle.issue_personal(
            user=user,
            application=app,
            expires_at=expiry_in_days(days + 1),
            scopes=scopes,
            description=description,
        ).token

    for user in (admin_user, alice):
        lifecycle.revoke_token(
            issue(user, sync_app, "Old laptop", 10),
            by=admin_user,
            reason="laptop reported stolen at the airport, rotate everything",
        )
        expired = issue(user, sync_app, "Quarterly report export", 5, [read_scope])
        ReferenceToken.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=2))
        used = issue(user, sync_app, "Nightly backup script", 200, [read_scope])
        ReferenceToken.objects.filter(pk=used.pk).update(
            last_used_at=now - timedelta(hours=3), last_used_ip="2001:db8:85a3::8a2e:370:7334"
        )
        issue(user, sync_app, "Home Assistant integration", 3)
        issue(
            user,
            sync_app,
            "CI pipeline for the payments-reconciliation-service-with-a-very-long-name",
            30,
            [read_scope, update_scope],
        )
    lifecycle.issue_service(
        admin=admin_user,
        application=sync_app,
        expires_at=expiry_in_days(30),
        description="nightly export to the data warehouse",
    )
    return admin_user


def visit_profile_pages(page: Page, mode: str, problems: dict, violations: dict) -> None:
    js = mode == "js"

    def check(name: str) -> None:
        check_every_width(page, f"{name}-{mode}", problems)
        if js:
            check_accessibility(page, name, violations)

    page.goto("/profile/security/tokens/")
    expect(page.get_by_role("heading", name="Personal access tokens", exact=True)).to_be_visible()
    check("tokens")
    page.goto("/profile/security/tokens/?show=all")
    check("tokens-all")
    page.goto("/profile/security/tokens/new/")
    check("create")
    # A failed submit: the error summary, the fields with their errors.
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert").filter(has_text="problem")).to_be_visible()
    check("create-errors")
    page.get_by_label("Description").fill("Deploy bot for the staging cluster")
    page.get_by_role("checkbox", name=re.compile(r"^read")).check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_label("Your new personal access token")).to_be_visible()
    check("shown-once")
    page.get_by_role("link", name="Done, I copied it").click()
    revoke = page.locator("form[data-revoke]").first.get_attribute("action")
    page.goto(revoke)
    check("revoke")


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["js", "nojs"])
def test_the_profile_pages_fit_every_width_and_pass_axe(browser, live_server, lived_in, mode):
    page = new_page(browser, live_server, js=mode == "js")
    sign_in_at(page, "/login/", "Sign in")
    problems: dict = {}
    violations: dict = {}
    visit_profile_pages(page, mode, problems, violations)
    page.context.close()
    found = {"layout": problems, "axe": violations}
    assert found == {"layout": {}, "axe": {}}, json.dumps(found, indent=1)


@pytest.mark.e2e
def test_the_admin_pages_fit_every_width_and_pass_axe(browser, live_server, lived_in, sync_app):
    page = new_page(browser, live_server, js=True)
    sign_in_at(page, "/admin/login/", "Sign in")
    problems: dict = {}
    violations: dict = {}
    alices = ReferenceToken.objects.filter(user__username="alice", revoked_at__isnull=True).first()
    alice = alices.user
    pages = {
        "admin-index": ("/admin/", True),
        "admin-tokens": ("/admin/tokens/referencetoken/", True),
        "admin-apps": ("/admin/trustedapps/trustedapplication/", True),
        "admin-app": (f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/", False),
        "admin-create-token": (
            f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/",
            False,
        ),
        "admin-user": (f"/admin/accounts/user/{alice.pk}/change/", False),
        # A personal token is never rotated in the admin: the refusal says why, and offers Revoke.
        "admin-rotate-refused": (f"/admin/tokens/referencetoken/{alices.pk}/rotate/", False),
        "admin-events": ("/admin/tokens/tokenevent/", True),
    }
    for name, (url, is_list) in pages.items():
        page.goto(url)
        check_every_width(page, name, problems, admin_list=is_list)
        check_accessibility(page, name, violations)
    page.context.close()
    found = {"layout": problems, "axe": violations}
    assert found == {"layout": {}, "axe": {}}, json.dumps(found, indent=1)


@pytest.mark.e2e
def test_both_consoles_keep_their_contrast_in_the_dark(browser, live_server, lived_in):
    page = new_page(browser, live_server, js=True, dark=True)
    sign_in_at(page, "/login/", "Sign in")
    violations: dict = {}
    for name, url in [
        ("tokens-dark", "/profile/security/tokens/?show=all"),
        ("create-dark", "/profile/security/tokens/new/"),
        ("admin-index-dark", "/admin/"),
        ("admin-tokens-dark", "/admin/tokens/referencetoken/"),
    ]:
        page.goto(url)
        # Dark, for real: the page's background follows the scheme.
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != (
            "rgb(255, 255, 255)"
        )
        check_accessibility(page, name, violations)
        page.screenshot(path=str(SCREENSHOTS / f"layout-{name}-1280.png"), full_page=True)
    page.context.close()
    assert violations == {}, json.dumps(violations, indent=1)

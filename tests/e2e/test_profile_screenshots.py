"""Screenshots of the token pages at desktop and phone widths, for people to look at.

They land in artifacts/screenshots/ (ignored by git). The assertions check what a person must see.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.browser import DESKTOP, PHONE, sign_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken


@pytest.fixture
def alice_with_tokens(alice, sync_app, read_scope, bob):
    """A lived-in token page: one expiring soon, one used, one revoked, one expired."""
    now = timezone.now()

    def issue(description: str, days: int, scopes=None) -> ReferenceToken:
        return lifecycle.issue_personal(
            user=alice,
            application=sync_app,
            expires_at=expiry_in_days(days + 1),
            scopes=scopes,
            description=description,
        ).token

    lifecycle.revoke_token(issue("Old laptop", 10), by=alice)
    expired = issue("Quarterly report export", 5, [read_scope])
    ReferenceToken.objects.filter(pk=expired.pk).update(expires_at=now - timedelta(days=2))
    used = issue("Nightly backup script", 200, [read_scope])
    ReferenceToken.objects.filter(pk=used.pk).update(last_used_at=now - timedelta(hours=3))
    soon = issue("Home Assistant integration", 3)
    # Made a month ago: a token made to last less than a week never raises the warning.
    ReferenceToken.objects.filter(pk=soon.pk).update(created_at=now - timedelta(days=30))
    issue("CI pipeline (GitHub Actions)", 30)
    return alice


@pytest.mark.e2e
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_the_token_pages(
    page: Page, screenshot, alice_with_tokens, reports_app, size
):
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    sign_in(page, "alice")
    expect(page.locator("tbody tr")).to_have_count(3)  # revoked and expired hidden by default
    expect(page.get_by_text("in 3 days · expires soon")).to_have_class(re.compile("text-warning"))
    expect(page.get_by_text("1 token expires within 7 days.")).to_be_visible()
    screenshot(page, f"tokens-{size}")

    page.get_by_role("link", name="Show revoked and expired").click()
    expect(page.locator("tbody tr")).to_have_count(5)
    screenshot(page, f"tokens-all-{size}")

    page.get_by_role("link", name="Create personal access token").first.click()
    page.get_by_label("Description").fill("Deploy bot")
    screenshot(page, f"create-form-{size}")

    page.get_by_label("Description").fill("x" * 10)
    page.locator("#id_expires_at").fill("2001-01-01")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#expires-errors")).to_have_text("Choose a date from tomorrow on.")
    screenshot(page, f"create-form-errors-{size}")

    page.locator("#id_expires_at").fill((timezone.now() + timedelta(days=7)).date().isoformat())
    page.get_by_role("checkbox", name=re.compile(r"^read")).check()
    page.get_by_role("button", name="Create token").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    screenshot(page, f"shown-once-{size}")

    # The page must not scroll sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.e2e
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_the_sign_in_pages(page_without_js: Page, screenshot, alice, size):
    page = page_without_js
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    page.goto("/login/")
    screenshot(page, f"sign-in-{size}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    screenshot(page, f"sign-in-error-{size}")


@pytest.mark.e2e
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshot_of_the_locked_out_page(page_without_js: Page, screenshot, alice, size):
    page = page_without_js
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.goto("/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_text("Try again in 15 minutes.")).to_be_visible()
    screenshot(page, f"locked-out-{size}")

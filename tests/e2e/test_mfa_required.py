"""MFA_REQUIRED in real Chromium (issue 21): during the grace period a banner says what to do and
by when; after it, a person without a second factor still signs in and revokes, but creating a
token is refused and the page says why and what to do; under `admins`, an admin past the grace
period cannot issue a service token in the admin, and sees why."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.accounts.test_mfa_policy import past_grace
from tests.e2e.browser import fill_create_form, sign_in, sign_in_at
from tokens.models import ReferenceToken

pytestmark = pytest.mark.e2e

SECOND_FACTOR_FIRST = "This portal requires a second factor (an authenticator app"


def test_in_the_grace_period_the_banner_says_what_to_do_and_by_when(page: Page, alice, settings):
    settings.MFA_REQUIRED = "everyone"
    sign_in(page, "alice")
    deadline = (timezone.now() + timedelta(days=settings.MFA_GRACE_DAYS)).strftime("%-d %b %Y")
    banner = page.locator(".mfa-banner")
    expect(banner).to_contain_text(f"This portal requires a second factor from {deadline}")
    banner.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/$"))


def test_after_the_grace_period_creating_is_refused_with_the_reason_but_revoking_works(
    page: Page, alice, alice_token, sync_app, settings
):
    settings.MFA_REQUIRED = "everyone"
    past_grace(alice)
    sign_in(page, "alice")
    expect(page.locator(".mfa-banner")).to_contain_text("until you add one you cannot create")

    fill_create_form(page, "refused without a second factor")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="A second factor is needed first")).to_be_visible()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(SECOND_FACTOR_FIRST)
    expect(alert).to_contain_text("Your existing tokens keep working.")
    expect(page.locator("a.btn", has_text="Set up two-factor authentication")).to_be_visible()
    assert ReferenceToken.objects.filter(user=alice).count() == 1

    page.get_by_role("link", name="Back to tokens").click()
    row = page.locator("tr", has_text="laptop sync")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke", exact=True).click()
    expect(row.locator(".label--revoked")).to_have_text("Revoked")
    alice_token.token.refresh_from_db()
    assert alice_token.token.revoked_at is not None


def test_under_admins_an_admin_past_grace_cannot_issue_a_service_token(
    page: Page, admin_user, sync_app, settings
):
    settings.MFA_REQUIRED = "admins"
    past_grace(admin_user)
    sign_in_at(page, "/admin/login/", "Sign in")
    page.goto(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    page.get_by_role("link", name="Create service access token").click()
    page.get_by_label("Description").fill("nightly export")
    page.get_by_role("checkbox", name=re.compile(r"^read( —|$)")).check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text(SECOND_FACTOR_FIRST)).to_be_visible()
    expect(page.locator("#shown-once-value")).to_have_count(0)
    assert not ReferenceToken.objects.filter(user=sync_app.system_user).exists()

"""Renewing an expired token from the profile's list, in a real browser (issue 20)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.browser import TOKEN_RE, sign_in
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken


@pytest.mark.e2e
def test_a_person_renews_an_expired_token_from_the_list(page: Page, alice_token, screenshot):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        created_at=timezone.now() - timedelta(days=31), expires_at=expiry_in_days(-1)
    )
    sign_in(page, "alice")
    page.get_by_role("link", name="Show revoked and expired").click()
    page.get_by_role("link", name="Renew laptop sync").click()
    expect(page.get_by_role("heading", name="Renew token")).to_be_visible()
    expect(page.locator("#renewed-expiry")).to_have_text(
        f"{expiry_in_days(30):%-d %b %Y}, 00:00 UTC"
    )
    page.get_by_role("button", name="Renew", exact=True).click()

    expect(page.get_by_text(f"It renews {alice_token.token.masked}")).to_be_visible()
    assert TOKEN_RE.match(page.get_by_label("Your new personal access token").input_value())
    screenshot(page, "renewed-shown-once-desktop")
    assert ReferenceToken.objects.count() == 2


@pytest.mark.e2e
def test_a_person_removes_a_revoked_token_from_the_list(page: Page, alice, alice_token):
    from tokens.domain import lifecycle

    lifecycle.revoke_token(alice_token.token, by=alice, reason="lost")
    sign_in(page, "alice")
    page.get_by_role("link", name="Show revoked and expired").click()
    row = page.locator(f"#token-{alice_token.token.pk}")
    expect(row).to_be_visible()
    page.get_by_role("button", name="Remove laptop sync from the list").click()

    expect(page.get_by_text("Removed “laptop sync”")).to_be_visible()
    expect(row).to_have_count(0)
    alice_token.token.refresh_from_db()
    assert alice_token.token.removed_from_list_at is not None

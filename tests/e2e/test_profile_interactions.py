"""The profile's in-place behaviours, in a real browser: revoking through the dialog (the count
line, focus, the announcement), switching applications, Select all."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.browser import sign_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken


@pytest.fixture
def alice_with_two_tokens(alice, sync_app):
    for description in ("first", "second"):
        lifecycle.issue_personal(
            user=alice,
            application=sync_app,
            expires_at=expiry_in_days(30),
            description=description,
        )
    return alice


@pytest.mark.e2e
def test_revoking_in_the_dialog_updates_the_count_and_moves_focus(
    page: Page, alice_with_two_tokens
):
    sign_in(page, "alice")
    expect(page.locator("#token-count")).to_have_text("2 active personal access tokens")
    newest = page.locator("tr", has_text="second")

    # Cancel changes nothing and gives focus back to the button.
    newest.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("second")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(newest.get_by_role("button", name="Revoke")).to_be_focused()
    assert ReferenceToken.objects.revoked().count() == 0

    newest.get_by_role("button", name="Revoke").click()
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(newest.locator(".label--revoked")).to_have_text("Revoked")
    expect(page.locator("#token-count")).to_have_text(
        "1 active personal access token · 1 revoked or expired"
    )
    # Focus goes on to the next token's Revoke button, and the change is announced.
    expect(
        page.locator("tr", has_text="first").get_by_role("button", name="Revoke")
    ).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("Token second revoked.")
    assert ReferenceToken.objects.revoked().get().description == "second"


@pytest.mark.e2e
def test_switching_application_clamps_the_date_and_says_so(
    page: Page, carol, sync_app, reports_app
):
    sign_in(page, "carol")
    page.goto("/profile/security/tokens/new/")
    page.get_by_label("Application").select_option(label="Sync")
    # Wait for htmx to swap in Sync's fields before typing into them.
    expect(page.get_by_text("Sync allows at most 365 days")).to_be_visible()
    page.get_by_role("radio", name="Custom date").check()
    far = (timezone.now().astimezone(UTC).date() + timedelta(days=200)).isoformat()
    page.locator("#id_expires_at").fill(far)
    page.get_by_label("Application").select_option(label="Reports")
    limit = timezone.now().astimezone(UTC).date() + timedelta(days=30)
    expect(page.locator("#id_expires_at")).to_have_value(limit.isoformat())
    expect(page.locator("#application-note")).to_contain_text(
        f"Reports allows tokens of at most 30 days: the expiration date moved to {limit:%-d %b %Y}."
    )


@pytest.mark.e2e
def test_select_all_ticks_every_scope_in_place(page: Page, alice, sync_app):
    sign_in(page, "alice")
    page.goto("/profile/security/tokens/new/")
    page.get_by_role("button", name="Select all").click()
    for box in page.get_by_role("checkbox").all():
        expect(box).to_be_checked()
    expect(page).to_have_url(re.compile(r"/tokens/new/$"))  # no round trip


@pytest.mark.e2e
def test_a_failed_submit_focuses_the_error_summary(page: Page, alice, sync_app):
    sign_in(page, "alice")
    page.goto("/profile/security/tokens/new/")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Error: Create personal access token"))
    # The summary's links lead to the fields.
    page.get_by_role("link", name="Choose at least one scope.").click()
    expect(page).to_have_url(re.compile(r"#scopes$"))

"""Keyboard focus in the profile's token list (issue 20, defect 2): it moves into what opened and
returns to where it came from, and Esc closes the rotate panel."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import sign_in
from tokens.domain import lifecycle


@pytest.mark.e2e
def test_rotate_moves_focus_into_its_panel_and_esc_brings_it_back(page: Page, alice_token):
    sign_in(page, "alice")
    row = page.locator("tr", has_text="laptop sync")
    row.get_by_role("button", name="Rotate").focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("group", name="Rotate laptop sync")
    expect(panel).to_be_focused()
    # The new token's lifetime comes first (issue 20, defect 8), then the button.
    page.keyboard.press("Tab")
    expect(panel.get_by_role("radio", name=re.compile(r"as before"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(panel.get_by_role("button", name="Rotate", exact=True)).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    expect(page.get_by_role("button", name="Rotate laptop sync")).to_be_focused()
    # Cancel does the same, without leaving the page.
    page.keyboard.press("Enter")
    expect(panel).to_be_focused()
    panel.get_by_role("link", name="Cancel").click()
    expect(panel).to_have_count(0)
    expect(page.get_by_role("button", name="Rotate laptop sync")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))


@pytest.mark.e2e
def test_showing_revoked_tokens_keeps_focus_on_the_toggle(page: Page, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice)
    sign_in(page, "alice")
    page.get_by_role("link", name="Show revoked and expired").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Hide revoked and expired")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Show revoked and expired")).to_be_focused()

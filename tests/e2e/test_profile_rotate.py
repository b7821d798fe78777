"""Rotating a token in the profile, in a real browser, with and without JavaScript; sudo mode."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import TOKEN_RE, fill_create_form, sign_in
from tests.helpers import PASSWORD
from tokens.models import ReferenceToken


@pytest.mark.e2e
def test_a_person_rotates_a_token_in_its_row(
    page: Page, alice_token, orders_api, introspect_over_http, screenshot
):
    sign_in(page, "alice")
    row = page.locator("tr", has_text="laptop sync")
    row.get_by_role("button", name="Rotate").click()

    # htmx swaps the confirmation into the row: no page load.
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    panel = page.get_by_role("group", name="Rotate laptop sync")
    expect(panel).to_contain_text("stops working at once")
    screenshot(page, "rotate-confirm-in-row-desktop")
    panel.get_by_role("button", name="Rotate", exact=True).click()

    expect(page.get_by_role("heading", name="Token rotated")).to_be_visible()
    expect(page.get_by_text(f"It replaces {alice_token.token.masked}")).to_be_visible()
    new = page.get_by_label("Your new personal access token").input_value()
    assert TOKEN_RE.match(new)
    screenshot(page, "rotated-shown-once-desktop")

    assert introspect_over_http(new, orders_api)["active"] is True
    assert introspect_over_http(alice_token.plaintext, orders_api) == {"active": False}

    page.get_by_role("link", name="Done, I copied it").click()
    page.get_by_role("link", name="laptop sync").first.click()
    expect(page.get_by_role("heading", name=re.compile("laptop sync"))).to_be_visible()
    expect(page.get_by_text(f"Created by rotating {alice_token.token.masked}")).to_be_visible()
    screenshot(page, "token-detail-desktop")


@pytest.mark.e2e
def test_rotating_works_without_javascript(
    page_without_js: Page, alice_token, orders_api, introspect_over_http, screenshot
):
    page = page_without_js
    sign_in(page, "alice")
    page.locator("tr", has_text="laptop sync").get_by_role("button", name="Rotate").click()

    expect(page).to_have_url(re.compile(rf"/tokens/{alice_token.token.pk}/rotate/\??$"))
    expect(page.get_by_role("heading", name="Rotate token")).to_be_visible()
    screenshot(page, "rotate-confirm-no-js-desktop")
    page.get_by_role("button", name="Rotate", exact=True).click()

    new = page.get_by_label("Your new personal access token").input_value()
    assert TOKEN_RE.match(new)
    assert introspect_over_http(new, orders_api)["active"] is True
    assert introspect_over_http(alice_token.plaintext, orders_api) == {"active": False}

    page.reload()  # the browser sends the same form again: no second rotation, no token
    expect(page.get_by_text("That form was already used")).to_be_visible()
    assert new not in page.content()
    assert ReferenceToken.objects.count() == 2


@pytest.mark.e2e
def test_creating_a_token_asks_for_the_password_again_when_it_is_stale(
    page: Page, alice, sync_app, settings, screenshot
):
    settings.REAUTH_MAX_AGE = 0  # every confirmation is already stale
    sign_in(page, "alice")
    fill_create_form(page, "typed before sudo")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    screenshot(page, "sudo-confirm-desktop")
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_text("That is not your password")).to_be_visible()
    screenshot(page, "sudo-wrong-password-desktop")
    assert ReferenceToken.objects.count() == 0

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    expect(page.get_by_text("“typed before sudo” for Sync")).to_be_visible()
    assert TOKEN_RE.match(page.get_by_label("Your new personal access token").input_value())


@pytest.mark.e2e
def test_rotating_without_javascript_asks_for_the_password_too(
    page_without_js: Page, alice_token, settings
):
    page = page_without_js
    settings.REAUTH_MAX_AGE = 0
    sign_in(page, "alice")
    page.goto(f"/profile/security/tokens/{alice_token.token.pk}/rotate/")
    page.get_by_role("button", name="Rotate", exact=True).click()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("heading", name="Token rotated")).to_be_visible()


@pytest.mark.e2e
def test_the_notifications_page(page: Page, alice, screenshot):
    sign_in(page, "alice")
    page.get_by_role("link", name="Notifications").click()
    box = page.get_by_label("Tell me before my tokens expire")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your notification settings were saved.")).to_be_visible()
    expect(page.get_by_label("Tell me before my tokens expire")).not_to_be_checked()
    screenshot(page, "notifications-desktop")


@pytest.mark.e2e
def test_a_person_chooses_the_new_lifetime_when_rotating(page: Page, alice_token):
    # Issue 20, defect 8: the confirmation offers the lifetimes a rotation allows, the old one
    # chosen, each with its exact expiry; the new token stops at 00:00 UTC of that day.
    from tokens.domain.expiry import expiry_in_days

    sign_in(page, "alice")
    page.locator("tr", has_text="laptop sync").get_by_role("button", name="Rotate").click()
    panel = page.get_by_role("group", name="Rotate laptop sync")
    expect(panel.get_by_role("radio", name=re.compile(r"^30 days, as before"))).to_be_checked()
    expect(panel.get_by_role("radio", name=re.compile(r"^60 days"))).to_have_count(0)
    week = panel.get_by_role("radio", name=f"7 days ({expiry_in_days(7):%-d %b %Y}, 00:00 UTC)")
    week.check()
    panel.get_by_role("button", name="Rotate", exact=True).click()

    expect(page.get_by_role("heading", name="Token rotated")).to_be_visible()
    new = ReferenceToken.objects.get(revoked_at__isnull=True)
    assert new.expires_at == expiry_in_days(7)
    assert new.expires_at.strftime("%H:%M:%S %Z") == "00:00:00 UTC"

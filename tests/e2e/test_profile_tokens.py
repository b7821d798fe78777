"""The whole life of a personal token, in a real browser: sign in, create, copy, use, revoke."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import TOKEN_RE, fill_create_form, sign_in


@pytest.mark.e2e
def test_a_person_creates_copies_uses_and_revokes_a_token(
    page: Page, alice, sync_app, orders_api, introspect_over_http
):
    sign_in(page, "alice")
    expect(page.get_by_role("banner")).to_contain_text("Alice")
    fill_create_form(page, "CI deploy")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("heading", name="Personal access token created")).to_be_visible()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    token = page.evaluate("navigator.clipboard.readText()")
    assert TOKEN_RE.match(token)
    assert page.get_by_label("Your new personal access token").input_value() == token

    answer = introspect_over_http(token, orders_api)
    assert answer["active"] is True
    assert answer["username"] == "alice"
    assert answer["scope"] == "read"

    page.get_by_role("link", name="Done, I copied it").click()
    row = page.locator("tr", has_text="CI deploy")
    expect(row).to_contain_text(f"enrt_…{token[-4:]}")
    expect(row).to_contain_text("Just now")  # the resource server just checked it
    expect(row).to_have_class(re.compile("token-row--new"))  # highlighted after "Done"
    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog", name="Revoke this personal access token?")
    expect(dialog).to_contain_text("CI deploy")
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(row.locator(".label--revoked")).to_have_text("Revoked")  # swapped in place, no reload
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)

    assert introspect_over_http(token, orders_api) == {"active": False}


@pytest.mark.e2e
def test_the_same_flow_works_without_javascript(
    page_without_js: Page, alice, sync_app, orders_api, introspect_over_http, screenshot
):
    page = page_without_js
    sign_in(page, "alice")
    fill_create_form(page, "cron job")
    page.get_by_role("button", name="Create token").click()

    field = page.get_by_label("Your new personal access token")
    token = field.input_value()
    assert TOKEN_RE.match(token)
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()  # it needs JavaScript
    assert introspect_over_http(token, orders_api)["active"] is True

    page.get_by_role("link", name="Done, I copied it").click()
    row = page.locator("tr", has_text="cron job")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("heading", name="Revoke personal access token")).to_be_visible()
    screenshot(page, "revoke-confirm-no-js-desktop")
    page.get_by_role("button", name="Revoke", exact=True).click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_text("was revoked")).to_be_visible()

    assert introspect_over_http(token, orders_api) == {"active": False}


@pytest.mark.e2e
def test_choosing_another_application_shows_its_scopes(page: Page, carol, sync_app, reports_app):
    sign_in(page, "carol")
    page.goto("/profile/security/tokens/new/")
    expect(page.get_by_label("Application")).to_have_value(str(reports_app.pk))  # first by name
    expect(page.get_by_role("checkbox")).to_have_count(1)
    page.get_by_label("Application").select_option(label="Sync")
    expect(page.get_by_role("checkbox")).to_have_count(2)
    expect(page.get_by_role("checkbox", name=re.compile(r"^update"))).to_be_visible()
    page.get_by_label("Application").select_option(label="Reports")
    expect(page.get_by_role("checkbox")).to_have_count(1)
    expect(page.get_by_text("Reports allows at most 30 days")).to_be_visible()


@pytest.mark.e2e
def test_choosing_another_application_without_javascript_takes_a_second_step(
    page_without_js: Page, carol, sync_app, reports_app
):
    page = page_without_js
    sign_in(page, "carol")
    page.goto("/profile/security/tokens/new/")
    page.get_by_label("Description").fill("kept while choosing")
    page.get_by_label("Application").select_option(label="Sync")
    page.get_by_role("button", name="Show its scopes and limits").click()
    expect(page.get_by_role("checkbox")).to_have_count(2)
    expect(page.get_by_label("Description")).to_have_value("kept while choosing")
    expect(page.get_by_text("Sync allows at most 365 days")).to_be_visible()


@pytest.mark.e2e
def test_reloading_or_going_back_never_shows_the_token_again(page: Page, alice, sync_app):
    sign_in(page, "alice")
    fill_create_form(page, "shown once")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new personal access token").input_value()
    assert TOKEN_RE.match(token)

    page.reload()  # the browser sends the same form again
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_text("That form was already used")).to_be_visible()
    assert token not in page.content()

    page.go_back()
    assert token not in page.content()
    page.go_forward()
    assert token not in page.content()
    assert token not in page.evaluate(
        "JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"
    )
    assert sync_app.tokens.count() == 1


@pytest.mark.e2e
def test_copy_falls_back_to_selecting_the_field_without_the_clipboard_api(
    page: Page, alice, sync_app
):
    sign_in(page, "alice")
    fill_create_form(page, "old browser")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Your new personal access token").input_value()
    # Hide the clipboard API, as older browsers and insecure origins do; keep it to read back.
    page.evaluate(
        "window.realClipboard = navigator.clipboard;"
        "Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})"
    )
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("window.realClipboard.readText()") == token

"""An instance admin issues a SAT in a real browser, a resource server validates it, then it is
revoked from the token list and stops validating at once."""

import re

from playwright.sync_api import expect

from tests.e2e.browser import sign_in_at


def test_an_admin_creates_a_service_token_validates_and_revokes_it(
    page, screenshot, admin_user, sync_app, orders_api, introspect_over_http
):
    sign_in_at(page, "/admin/login/", "Sign in")

    page.goto(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    screenshot(page, "admin-trusted-application")
    page.get_by_role("link", name="Create service access token").click()
    page.get_by_label("Description").fill("nightly export")
    page.get_by_role("checkbox", name=re.compile(r"^read( —|$)")).check()
    screenshot(page, "admin-create-application-token")
    page.get_by_role("button", name="Create token").click()

    field = page.locator("#shown-once-value")
    token = field.input_value()
    assert re.fullmatch(r"enrt_[0-9A-F]{64}", token)
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == token
    screenshot(page, "admin-service-token-created")

    answer = introspect_over_http(token, orders_api)
    assert answer["active"] is True
    assert answer["token_kind"] == "service"
    assert answer["username"] == "app.com.example-sync"
    assert answer["scope"] == "read"

    page.goto("/admin/tokens/referencetoken/")
    row = page.locator("#result_list tbody tr", has_text="enrt_…" + token[-4:])
    screenshot(page, "admin-token-list")
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option("revoke_tokens")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("1 token will be revoked")).to_be_visible()
    page.get_by_label("Reason").fill("rotated after the e2e test")
    screenshot(page, "admin-token-revoke-confirmation")
    page.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_text("Revoked 1 token.")).to_be_visible()
    screenshot(page, "admin-token-list-after-revoke")

    assert introspect_over_http(token, orders_api) == {"active": False}


def test_the_admins_form_offers_the_profiles_lifetimes(page, screenshot, admin_user, sync_app):
    # Issue 20, defect 14: presets as radio buttons with their dates, a custom date as the
    # fallback, the application's longest lifetime named, scopes with what they allow.
    from tokens.domain.expiry import expiry_in_days
    from tokens.models import ReferenceToken

    sign_in_at(page, "/admin/login/", "Sign in")
    page.goto(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/")
    expect(page.get_by_role("radio", name=re.compile(r"^30 days"))).to_be_checked()
    expect(page.get_by_role("radio", name="Custom date")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Sync allows at most \d+ days"))).to_be_visible()
    page.get_by_label("Description").fill("weekly report")
    page.get_by_role("checkbox", name=re.compile(r"^read( —|$)")).check()
    page.get_by_role("radio", name=re.compile(r"^7 days")).check()
    screenshot(page, "admin-create-service-token-presets")
    page.get_by_role("button", name="Create token").click()

    expect(page.locator("#shown-once-value")).to_be_visible()
    assert ReferenceToken.objects.get().expires_at == expiry_in_days(7)

"""An instance admin rolls a lifetime rule out in a real browser (issue 23): report-only first,
the dashboard says how many live tokens it would block and lists them, then switching to enforce
asks for confirmation with that number and the tokens stop validating."""

import re

from playwright.sync_api import expect

from tests.e2e.browser import sign_in_at
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days


def test_an_admin_rolls_out_a_lifetime_rule_report_first(
    page, screenshot, admin_user, alice, sync_app, orders_api, introspect_over_http
):
    long = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(60))
    short = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(5))
    sign_in_at(page, "/admin/login/", "Sign in")

    page.goto("/admin/trustedapps/instancetokenpolicy/")
    expect(page).to_have_url(re.compile(r"/admin/trustedapps/instancetokenpolicy/1/change/$"))
    page.locator("#id_personal_lifetime_mode").select_option("report")
    page.locator("#id_personal_lifetime_days").fill("30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The token policies were saved.")).to_be_visible()
    screenshot(page, "admin-token-policies")

    page.goto("/admin/")
    figure = page.get_by_role("link", name=re.compile("Would be blocked by report-only rules"))
    expect(figure).to_contain_text("1")
    screenshot(page, "admin-dashboard-report-only")
    figure.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(long.token.hint)
    assert introspect_over_http(long.plaintext, orders_api)["active"] is True

    page.goto("/admin/trustedapps/instancetokenpolicy/1/change/")
    page.locator("#id_personal_lifetime_mode").select_option("enforce")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Enforcing these rules suspends 1 live token now.")).to_be_visible()
    screenshot(page, "admin-token-policies-confirm")
    page.get_by_label("Enforce now").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The token policies were saved.")).to_be_visible()

    assert introspect_over_http(long.plaintext, orders_api) == {"active": False}
    assert introspect_over_http(short.plaintext, orders_api)["active"] is True

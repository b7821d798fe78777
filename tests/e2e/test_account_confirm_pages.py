"""The pages that stand between a person and a new credential (issue 21), which the other browser
tests only pass through: "Confirm your password" (sudo mode), allauth's own reauthentication page,
the tokens page with the MFA_REQUIRED banner (in the grace period and after it), and the refusal
"A second factor is needed first". Light and dark: no serious or critical axe finding at 390 and
1280 px, nothing cut off at any width, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.accounts.test_mfa_policy import past_grace
from tests.e2e.browser import fill_create_form, new_page, sign_in
from tests.e2e.test_account_entrance_pages import check
from tests.e2e.test_account_security import VIOLATIONS

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_confirmation_and_refusal_pages_pass_axe_fit_and_keep_the_csp(
    browser, live_server, alice, sync_app, settings, dark
):
    scheme = "dark" if dark else "light"
    page = new_page(browser, live_server, js=True, dark=dark)
    page.context.add_init_script(VIOLATIONS)
    found: dict = {"layout": {}, "axe": {}, "csp": {}}
    sign_in(page, "alice")

    settings.REAUTH_MAX_AGE = 0
    fill_create_form(page, "needs a confirmation")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    check(page, f"confirm-password-{scheme}", found)

    response = page.goto("/accounts/reauthenticate/")
    assert response is not None and response.status == 200
    check(page, f"reauthenticate-{scheme}", found)

    settings.MFA_REQUIRED = "everyone"
    page.goto("/profile/security/tokens/")
    expect(page.locator(".mfa-banner")).to_contain_text("from ")
    check(page, f"tokens-mfa-grace-{scheme}", found)
    past_grace(alice)
    page.goto("/profile/security/tokens/")
    expect(page.locator(".mfa-banner")).to_be_visible()
    check(page, f"tokens-mfa-overdue-{scheme}", found)
    fill_create_form(page, "refused")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="A second factor is needed first")).to_be_visible()
    check(page, f"mfa-refusal-{scheme}", found)

    page.context.close()
    assert found == {"layout": {}, "axe": {}, "csp": {}}

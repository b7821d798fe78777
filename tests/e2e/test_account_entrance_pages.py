"""The sign-in card's pages that tests/e2e/test_account_security.py does not walk through at every
width (issue 21): the password reset's "mail sent", "set a new password" (from the mail's link),
"password changed" and "link no longer valid" pages, the second-factor step of signing in and
the page of too many wrong codes.
In light and dark: no serious or critical axe finding at 390 and 1280 px, nothing cut off at any
width, no Content-Security-Policy violation."""

from __future__ import annotations

import re

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect

from tests.e2e.browser import PHONE, check_accessibility, check_every_width, new_page
from tests.e2e.layout import HEIGHT
from tests.e2e.test_account_security import VIOLATIONS, password_step, violations

pytestmark = pytest.mark.e2e


def check(page: Page, name: str, found: dict) -> None:
    check_every_width(page, name, found["layout"])
    for width in (PHONE["width"], 1280):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        check_accessibility(page, f"{name} at {width}px", found["axe"])
    page.set_viewport_size({"width": 1280, "height": HEIGHT})
    if violations(page):
        found["csp"][name] = violations(page)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_reset_and_second_step_pages_pass_axe_fit_and_keep_the_csp(
    browser, live_server, alice, settings, dark
):
    scheme = "dark" if dark else "light"
    page = new_page(browser, live_server, js=True, dark=dark)
    page.context.add_init_script(VIOLATIONS)
    found: dict = {"layout": {}, "axe": {}, "csp": {}}

    page.goto("/accounts/password/reset/done/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, f"reset-done-{scheme}", found)

    key = default_token_generator.make_token(alice)
    page.goto(f"/accounts/password/reset/key/{user_pk_to_url_str(alice)}-{key}/")
    expect(page).to_have_url(re.compile(r"-set-password/$"))
    expect(page.get_by_label("New Password", exact=True)).to_be_visible()
    check(page, f"reset-from-key-{scheme}", found)

    page.goto("/accounts/password/reset/key/done/")
    check(page, f"reset-from-key-done-{scheme}", found)

    page.goto(f"/accounts/password/reset/key/{user_pk_to_url_str(alice)}-not-a-key/")
    expect(page.get_by_text(re.compile("invalid", re.I)).first).to_be_visible()
    check(page, f"reset-bad-key-{scheme}", found)

    TOTP.activate(alice, generate_totp_secret())
    password_step(page)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    check(page, f"second-step-{scheme}", found)

    # Wrong codes lock the second step out too: its page is the sign-in card's as well.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Code").fill("000000")
        page.get_by_role("button", name="Continue").click()
        if page.get_by_role("heading", name="Too many failed sign-ins").count():
            break
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    check(page, f"locked-out-{scheme}", found)
    # Sign-in is paused, the reset by e-mail is not: the page says so.
    page.get_by_role("link", name="reset it by e-mail").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))

    page.context.close()
    assert found == {"layout": {}, "axe": {}, "csp": {}}

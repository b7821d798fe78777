"""Account security in real Chromium (issue 21): an authenticator app added from the profile and
used to sign in, recovery codes, and a passkey registered through Chromium's virtual
authenticator (DevTools' WebAuthn domain) that signs in without a username. No page reports a
Content-Security-Policy violation."""

from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import Page, expect

from accounts.models import AccountEvent
from tests.e2e.browser import (
    check_accessibility,
    check_every_width,
    fill_create_form,
    new_page,
    sign_in,
)
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e

VIOLATIONS = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


@pytest.fixture
def watched(page: Page) -> Page:
    page.context.add_init_script(VIOLATIONS)
    return page


def violations(page: Page) -> list[str]:
    page.wait_for_load_state("load")
    return page.evaluate("window.__violations")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def password_step(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_authenticator_app_then_recovery_codes(watched: Page, alice):
    page = watched
    sign_in(page, "alice")
    page.get_by_role("link", name="Two-factor authentication").click()
    assert violations(page) == []
    found: dict = {}
    check_accessibility(page, "two-factor", found)
    page.get_by_role("link", name="Add authenticator app").click()
    expect(page.get_by_role("img", name="QR code of your authenticator secret")).to_be_visible()
    secret = page.locator("#authenticator_secret").inner_text().strip()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Add authenticator app").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    codes = page.locator("#recovery_codes code").all_inner_texts()
    assert len(codes) == 10
    assert violations(page) == []
    sign_out(page)

    password_step(page)
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    check_accessibility(page, "second-step", found)
    assert violations(page) == []
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    sign_out(page)

    password_step(page)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    sign_out(page)

    password_step(page)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    assert found == {}


def test_a_passkey_registered_in_a_virtual_authenticator_signs_in_without_a_username(
    watched: Page, alice, sync_app, settings
):
    page = watched
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    sign_in(page, "alice")
    page.goto("/accounts/2fa/")
    page.get_by_role("link", name="Add a security key or passkey").click()
    page.get_by_label("Name").fill("Laptop passkey")
    page.get_by_label("Passwordless").check()
    assert violations(page) == []
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("cell", name="Laptop passkey", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="Passkey", exact=True)).to_be_visible()
    sign_out(page)

    page.goto("/accounts/login/")
    assert violations(page) == []
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_title("Signed in as alice")).to_be_attached()
    assert violations(page) == []

    # Sudo mode by the passkey: a stale confirmation, and the key confirms creating a token.
    settings.REAUTH_MAX_AGE = 0
    fill_create_form(page, "confirmed by a passkey")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    assert violations(page) == []
    page.get_by_role("button", name="Use a security key or passkey").click()
    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    assert AccountEvent.objects.filter(
        user=alice, event="account.sudo_confirmed", detail="method=mfa"
    ).exists()


SECURITY_PAGES = {
    "two-factor": "/accounts/2fa/",
    "authenticator-app": "/accounts/2fa/totp/activate/",
    "security-key": "/accounts/2fa/webauthn/add/",
    "password": "/accounts/password/change/",
    "sessions": "/accounts/sessions/",
    "security-log": "/profile/security/log/",
}


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_security_pages_fit_every_width_pass_axe_and_keep_the_csp(
    browser, live_server, alice, dark
):
    page = new_page(browser, live_server, js=True, dark=dark)
    page.context.add_init_script(VIOLATIONS)
    found: dict = {"layout": {}, "axe": {}, "csp": {}}
    for name, path in {"sign-in": "/accounts/login/", "reset": "/accounts/password/reset/"}.items():
        page.goto(path)
        check_every_width(page, f"{name}-{'dark' if dark else 'light'}", found["layout"])
        check_accessibility(page, name, found["axe"])
        if violations(page):
            found["csp"][name] = violations(page)
    password_step(page)
    for name, path in SECURITY_PAGES.items():
        page.goto(path)
        check_every_width(page, f"{name}-{'dark' if dark else 'light'}", found["layout"])
        check_accessibility(page, name, found["axe"])
        if violations(page):
            found["csp"][name] = violations(page)
    page.context.close()
    assert found == {"layout": {}, "axe": {}, "csp": {}}


def test_ending_another_session_signs_that_browser_out(browser, live_server, alice):
    laptop = new_page(browser, live_server, js=True)
    phone = new_page(browser, live_server, js=False)
    sign_in(laptop, "alice")
    sign_in(phone, "alice")
    laptop.goto("/accounts/sessions/")
    expect(laptop.locator("table.sessions tbody tr")).to_have_count(2)
    laptop.get_by_role("button", name="Sign out this session").click()
    expect(laptop.get_by_text("That browser is signed out.")).to_be_visible()
    expect(laptop.locator("table.sessions tbody tr")).to_have_count(1)
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/accounts/login/"))
    laptop.reload()
    expect(laptop).to_have_url(re.compile(r"/accounts/sessions/$"))
    laptop.context.close()
    phone.context.close()

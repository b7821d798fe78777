"""Single sign-on in real Chromium (issue 22): "Sign in with" on the sign-in page goes through
the test OpenID provider (tests/oidc/server.js) and back, signed in; the Content-Security-Policy
lets the form lead there, and without the provider's origin in form-action it could not."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.e2e.browser import check_accessibility, check_every_width
from tests.oidc.provider import PROVIDER_NAME

pytestmark = pytest.mark.e2e

VIOLATIONS = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_sign_in_with_the_provider_arrives_signed_in(page: Page, sso):
    page.context.add_init_script(VIOLATIONS)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/"))
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_role("heading", name="Personal access tokens", exact=True)).to_be_visible()
    assert page.evaluate("window.__violations") == []
    ada = User.objects.get(socialaccount__uid="ada-0001")
    assert ada.username == "ada"
    assert not ada.has_usable_password()


def test_without_the_providers_origin_in_form_action_the_browser_stops(page: Page, sso, settings):
    # What the settings add to form-action is needed: Chromium holds the redirect that follows
    # the form's submission to the policy of the page the form was on.
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**policy["DIRECTIVES"], "form-action": ["'self'"]}
    }
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    page.goto("/accounts/login/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    page.wait_for_timeout(1500)
    assert not page.url.startswith(sso.issuer)
    assert not User.objects.filter(socialaccount__uid="ada-0001").exists()
    assert any("form-action" in text for text in blocked), blocked


def test_the_sign_in_page_and_sign_in_methods_are_laid_out_and_accessible(page: Page, sso):
    problems: dict = {}
    violations: dict = {}
    page.goto("/accounts/login/")
    check_every_width(page, "sso-sign-in", problems)
    check_accessibility(page, "sso-sign-in", violations)
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    page.get_by_role("link", name="Sign-in methods").click()
    expect(page.get_by_role("heading", name="Sign-in methods")).to_be_visible()
    expect(page.get_by_role("cell", name=PROVIDER_NAME, exact=True)).to_be_visible()
    check_every_width(page, "sso-sign-in-methods", problems)
    check_accessibility(page, "sso-sign-in-methods", violations)
    assert problems == {}
    assert violations == {}

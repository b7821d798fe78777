"""The pages of a person who has second factors (issue 21), which tests/e2e/test_account_security.py
does not open: the two-factor overview with an app, a key and recovery codes, the recovery codes
and their regeneration, removing the app, the keys' list, naming and removing a key. Also the
pages it opens, at the phone width too (it runs axe at 1280 px only). Light and dark: no serious or
critical axe finding at 390 and 1280 px, nothing cut off at any width, no CSP violation."""

from __future__ import annotations

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from tests.e2e.browser import new_page
from tests.e2e.test_account_entrance_pages import check
from tests.e2e.test_account_security import SECURITY_PAGES, VIOLATIONS, password_step

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_pages_of_a_person_with_second_factors_pass_axe_fit_and_keep_the_csp(
    browser, live_server, alice, dark
):
    scheme = "dark" if dark else "light"
    secret = generate_totp_secret()
    TOTP.activate(alice, secret)
    RecoveryCodes.activate(alice)
    page = new_page(browser, live_server, js=True, dark=dark)
    page.context.add_init_script(VIOLATIONS)
    password_step(page)
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_title("Signed in as alice")).to_be_attached()
    found: dict = {"layout": {}, "axe": {}, "csp": {}}

    def walk(pages: dict[str, str]) -> None:
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            check(page, f"{name}-{scheme}", found)

    walk(
        {
            "recovery-codes": "/accounts/2fa/recovery-codes/",
            "recovery-codes-generate": "/accounts/2fa/recovery-codes/generate/",
            "authenticator-app-remove": "/accounts/2fa/totp/deactivate/",
            **{f"{name}-signed-in": path for name, path in SECURITY_PAGES.items()},
        }
    )
    # A key's pages show only its name and dates: one made here, after signing in and adding
    # keys (which read every key's credential), holds none.
    key = Authenticator.objects.create(
        user=alice, type=Authenticator.Type.WEBAUTHN, data={"name": "Laptop key"}
    )
    walk(
        {
            "two-factor-with-factors": "/accounts/2fa/",
            "security-keys": "/accounts/2fa/webauthn/",
            "security-key-edit": f"/accounts/2fa/webauthn/keys/{key.pk}/edit/",
            "security-key-remove": f"/accounts/2fa/webauthn/keys/{key.pk}/remove/",
        }
    )
    page.context.close()
    assert found == {"layout": {}, "axe": {}, "csp": {}}

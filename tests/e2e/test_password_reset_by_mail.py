"""Password reset by e-mail in real Chromium (issue 21): from the sign-in page's "Forgot your
password?", the mail goes through a real SMTP server started by the test, the link in the received
message sets a new password, the old one stops working, and another signed-in browser of the same
person is signed out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.accounts.test_password_reset import smtp_server, text_of  # noqa: F401 (a fixture)
from tests.e2e.browser import new_page, sign_in
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a brand new passphrase 42"


def try_password(page: Page, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_a_reset_mail_from_a_real_smtp_server_sets_a_new_password_in_the_browser(
    browser,
    live_server,
    alice,
    smtp_server,  # noqa: F811
):
    elsewhere = new_page(browser, live_server, js=True)
    sign_in(elsewhere, "alice")
    page = new_page(browser, live_server, js=True)

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/$"))
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name=re.compile("reset", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/done/$"))

    [message] = smtp_server.messages
    assert message["X-Envelope-To"] == "alice@example.com"
    body = text_of(message)
    assert PASSWORD not in body
    link = re.search(r"https?://\S+?(/accounts/password/reset/key/\S+)", body)[1]
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/[^/]+-set-password/$"))
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"New password \(again\)", re.I)).fill(NEW_PASSWORD)
    page.get_by_role("button", name=re.compile("change password", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/password/reset/key/done/$"))

    try_password(page, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_text(re.compile("enter a correct username and password"))).to_be_visible()
    try_password(page, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_title("Signed in as alice")).to_be_attached()

    # The other browser, signed in with the old password, is signed out.
    elsewhere.reload()
    expect(elsewhere).to_have_url(re.compile(r"/accounts/login/"))
    elsewhere.context.close()
    page.context.close()

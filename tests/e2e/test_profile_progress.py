"""Every action shows that it is working (issue 20, defect 7): with a slow server, a confirmed
revoke leaves its row saying so until the answer comes, and Rotate says it is rotating."""

import re

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.browser import sign_in


def hold_posts(page: Page, pattern: str) -> list[Route]:
    """Hold the POSTs to `pattern` until the test lets them go: a server as slow as needed."""
    held: list[Route] = []

    def handle(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(pattern), handle)
    return held


@pytest.mark.e2e
def test_a_confirmed_revoke_shows_it_is_working_until_the_row_says_revoked(page: Page, alice_token):
    sign_in(page, "alice")
    held = hold_posts(page, r"/revoke/$")
    row = page.locator("tr", has_text="laptop sync")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke", exact=True).click()
    expect(row).to_have_attribute("aria-busy", "true")
    expect(row.get_by_text("Revoking…")).to_be_visible()
    expect(row.get_by_role("button", name="Revoke")).to_be_disabled()
    expect(page.locator("#announcer")).to_have_text("Revoking…")
    held[0].continue_()
    expect(row.locator(".label--revoked")).to_have_text("Revoked")
    expect(page.get_by_text("Revoking…")).to_have_count(0)


@pytest.mark.e2e
def test_rotate_says_it_is_rotating_while_the_server_works(page: Page, alice_token):
    sign_in(page, "alice")
    held = hold_posts(page, r"/rotate/$")
    page.locator("tr", has_text="laptop sync").get_by_role("button", name="Rotate").click()
    panel = page.get_by_role("group", name="Rotate laptop sync")
    expect(panel).to_be_visible()
    # Playwright waits for the page that the POST loads: what the button said meanwhile is kept
    # in the tab's sessionStorage, which outlives the page.
    page.evaluate(
        """() => document.addEventListener("submit", () => setTimeout(() => {
             const button = document.querySelector(".rotate-panel button[type=submit]");
             sessionStorage.setItem("busy", button.textContent);
           }, 0))"""
    )
    panel.get_by_role("button", name="Rotate", exact=True).click(no_wait_after=True)
    page.wait_for_timeout(300)
    held[0].continue_()
    expect(page.get_by_role("heading", name="Token rotated")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('busy')") == "Rotating…"

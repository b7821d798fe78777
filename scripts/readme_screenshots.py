"""Retake the README's screenshots (docs/screenshots/*.png) from the demo of `make run`.

    make run &                                   # the demo: seed_demo's accounts and token
    .venv/bin/python scripts/readme_screenshots.py [--base-url http://127.0.0.1:8000]

Playwright drives Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH). Only the demo's
accounts are used (seed_demo's password), and no page taken shows a secret: the token pages
show masked tokens only, and the script never opens a shown-once page. A few demo tokens are
created first (through the profile's form, as a person would) when alice has only the demo's,
so the list shows more than one row; a second run finds them and creates none.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
# seed_demo's password (tokens/management/commands/seed_demo.py), for its demo accounts only.
DEMO_PASSWORD = "demo-password-123"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Demo tokens beside seed_demo's own: description, lifetime preset.
EXTRA_TOKENS = (("CI deploy (demo)", "7"), ("Laptop sync (demo)", "90"))
# A token's plaintext: never on a screenshot.
TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def ensure_demo_tokens(page: Page) -> None:
    page.goto("/profile/security/tokens/")
    for description, days in EXTRA_TOKENS:
        if page.get_by_text(description).count():
            continue
        page.goto("/profile/security/tokens/new/")
        page.wait_for_load_state("networkidle")
        page.get_by_label("Description").fill(description)
        preset = page.locator(f"input[name=expires_in][value='{days}']")
        if preset.count():
            preset.check()
        page.locator("input[name=scopes]").first.check()
        page.get_by_role("button", name="Create token").click()
        if page.get_by_label("Password").count():  # sudo mode: the password again
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Confirm and continue").click()
        # Leave the shown-once page at once: it is never photographed.
        page.get_by_role("link", name="Done, I copied it").click()


def shoot(page: Page, name: str, *, full_page: bool = False) -> None:
    page.wait_for_load_state("networkidle")
    if TOKEN_RE.search(page.content()):
        sys.exit(f"{name}: the page shows a token's plaintext; no screenshot taken")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)
    print(f"docs/screenshots/{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])

        def page_for(username: str, viewport: dict, scheme: str) -> Page:
            context = browser.new_context(
                base_url=args.base_url, viewport=viewport, color_scheme=scheme
            )
            page = context.new_page()
            sign_in(page, username)
            return page

        page = page_for("alice", DESKTOP, "light")
        ensure_demo_tokens(page)
        page.goto("/profile/security/tokens/")
        shoot(page, "profile-tokens-light")
        page.goto("/accounts/2fa/")
        page.set_viewport_size({"width": 1280, "height": 720})
        shoot(page, "profile-two-factor-light")
        page.context.close()

        page = page_for("alice", DESKTOP, "dark")
        page.goto("/profile/security/tokens/")
        shoot(page, "profile-tokens-dark")
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto("/accounts/sessions/")
        shoot(page, "profile-sessions-dark")
        page.context.close()

        page = page_for("alice", PHONE, "light")
        page.goto("/profile/security/tokens/")
        shoot(page, "profile-tokens-phone-light", full_page=True)
        page.context.close()

        page = page_for("alice", PHONE, "dark")
        page.goto("/profile/security/tokens/new/")
        page.get_by_label("Description").fill("Phone backup script")
        shoot(page, "profile-create-phone-dark", full_page=True)
        page.context.close()

        page = page_for("admin", DESKTOP, "light")
        page.goto("/admin/")
        shoot(page, "admin-dashboard-light")
        page.context.close()

        page = page_for("admin", DESKTOP, "dark")
        page.goto("/admin/tokens/referencetoken/")
        shoot(page, "admin-tokens-dark")
        page.context.close()
        browser.close()


if __name__ == "__main__":
    main()

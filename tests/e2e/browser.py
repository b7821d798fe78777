"""What the browser tests share besides fixtures: signing in, the create form, where screenshots
go, and the checks of a loaded page at every width (layout, accessibility)."""

from __future__ import annotations

import re
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.layout import HEIGHT, WIDTHS, layout_problems
from tests.helpers import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TOKEN_RE = re.compile(r"^enrt_[0-9A-F]{64}$")
AXE = Axe()


def sign_in(page: Page, username: str) -> None:
    """Sign in to the profile as `username`, from the home page."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    expect(page.get_by_role("heading", name="Personal access tokens", exact=True)).to_be_visible()


def sign_in_at(page: Page, login_url: str, button: str) -> None:
    """Sign in as the admin persona on the sign-in page at `login_url` (the profile's, the
    admin's)."""
    page.goto(login_url)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(lambda url: "/login/" not in url)


def fill_create_form(page: Page, description: str) -> None:
    page.get_by_role("link", name="Create personal access token").first.click()
    # Choosing the application makes htmx swap in its scopes: tick one only after the swap, or a
    # slow machine's swap unticks it (the form then asks for a scope and no token is shown).
    page.get_by_label("Application").select_option(label="Sync")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Description").fill(description)
    page.get_by_role("checkbox", name=re.compile(r"^read")).check()


def new_page(browser, live_server, *, js: bool, dark: bool = False) -> Page:
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": HEIGHT},
        java_script_enabled=js,
        color_scheme="dark" if dark else "light",
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def check_every_width(page: Page, name: str, problems: dict, *, admin_list: bool = False) -> None:
    """Lay the loaded page out at every width; note what is wrong; keep a screenshot of each."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        found = layout_problems(page, list_must_fit=admin_list and width >= 1280)
        if found:
            problems[f"{name} at {width}px"] = found
        page.screenshot(path=str(SCREENSHOTS / f"layout-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": HEIGHT})


def check_accessibility(page: Page, name: str, violations: dict) -> None:
    results = AXE.run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    if serious:
        violations[name] = serious

"""Browser tests: Playwright for Python driving Debian's Chromium against a live server."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import DESKTOP, SCREENSHOTS

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items) -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    skip = pytest.mark.skip(
        reason=f"no Chromium at {CHROMIUM}: run `apt-get install chromium` (or set CHROMIUM_PATH) "
        "to enable the browser tests"
    )
    for item in items:
        if "e2e" in item.nodeid.split("/"):
            item.add_marker(skip)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while the browser lives; the
    # tests' own ORM calls are still synchronous, so Django's async-safety guard would refuse
    # them. The switch lives exactly as long as the loop: every other test keeps the guard.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def _page(browser, live_server, **options) -> Iterator:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser, live_server):
    """A page with JavaScript, allowed to use the clipboard."""
    yield from _page(browser, live_server, permissions=["clipboard-read", "clipboard-write"])


@pytest.fixture
def page_without_js(browser, live_server):
    yield from _page(browser, live_server, java_script_enabled=False)


@pytest.fixture
def screenshot():
    """Save a screenshot under artifacts/screenshots/ (ignored by git) for people to look at."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def introspect_over_http(live_server):
    """Ask the live portal's validation URL about a token, as a resource server would."""
    import base64
    import json
    import urllib.parse
    import urllib.request

    def ask(token: str, server) -> dict:
        credentials = base64.b64encode(f"{server.client_id}:{server.secret}".encode()).decode()
        request = urllib.request.Request(
            f"{live_server.url}/connect/introspect",
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {credentials}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    return ask

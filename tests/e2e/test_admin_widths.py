"""The admin at laptop, tablet and phone widths, light and dark (issue 20): the lists get the width,
destructive buttons look destructive, the token page's buttons never cover its title, the
dashboard's tiles never overlap, and statuses read as badges. Boxes are measured in the browser.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import check_accessibility, new_page, sign_in_at
from tests.e2e.layout import HEIGHT, WIDTHS
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days

LISTS = [
    "/admin/tokens/referencetoken/",
    "/admin/tokens/tokenevent/",
    "/admin/trustedapps/trustedapplication/",
    "/admin/accounts/user/",
]
LONG = (
    "CI pipeline for the payments-reconciliation-service-with-a-very-long-name, exporting the "
    "nightly ledger"
)


@pytest.fixture
def tokens(admin_user, alice, sync_app, read_scope):
    """A revoked, an active personal and an active service token with a long description."""
    made = [
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry_in_days(30), description=d
        ).token
        for d in ("Old laptop", LONG)
    ]
    lifecycle.revoke_token(made[0], by=admin_user, reason="laptop reported stolen")
    service = lifecycle.issue_service(
        admin=admin_user, application=sync_app, expires_at=expiry_in_days(30), description=LONG
    ).token
    return {"revoked": made[0], "personal": made[1], "service": service}


def admin_page(browser, live_server, *, dark: bool) -> Page:
    page = new_page(browser, live_server, js=True, dark=dark)
    sign_in_at(page, "/admin/login/", "Sign in")
    return page


_LIST_ROOM = """
() => {
  const content = document.querySelector("#content");
  const style = getComputedStyle(content);
  // The viewport less the content's padding: what is left once the sidebars are out of the way.
  const room = document.documentElement.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight);
  const table = document.querySelector("#result_list");
  const results = document.querySelector("#changelist .results");
  const search = document.querySelector("#searchbar");
  return {
    room: Math.round(room),
    table: table ? Math.round(table.getBoundingClientRect().width) : null,
    scrolls: results ? results.scrollWidth > results.clientWidth + 1 : false,
    page_scrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
    search: search ? Math.round(search.getBoundingClientRect().width) : null,
  };
}
"""


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_admin_lists_get_the_width_at_every_size(browser, live_server, tokens, dark):
    page = admin_page(browser, live_server, dark=dark)
    problems: dict = {}
    for url in LISTS:
        page.goto(url)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            room = page.evaluate(_LIST_ROOM)
            wrong = []
            if room["page_scrolls"]:
                wrong.append("the page scrolls sideways")
            if room["scrolls"]:
                wrong.append("the list scrolls sideways")
            # The table takes the content's width, not what the sidebars leave of it.
            squeezed = room["table"] is not None and room["table"] < room["room"] - 2
            if width in (768, 1024) and squeezed:
                wrong.append(f"table {room['table']}px in {room['room']}px")
            if room["search"] is not None and room["search"] < 160:
                wrong.append(f"search box {room['search']}px")
            if wrong:
                problems[f"{url} at {width}"] = wrong
    page.context.close()
    assert problems == {}, json.dumps(problems, indent=1)


def _rgb(page: Page, selector: str) -> tuple[int, ...]:
    colour = page.locator(selector).first.evaluate("el => getComputedStyle(el).backgroundColor")
    return tuple(int(part) for part in colour[colour.index("(") + 1 : -1].split(",")[:3])


def _is_red(rgb: tuple[int, ...]) -> bool:
    red, green, blue = rgb
    return red > 150 and red > 2 * green and red > 2 * blue


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_destructive_buttons_are_red_and_the_others_are_not(
    browser, live_server, tokens, sync_app, alice, dark
):
    page = admin_page(browser, live_server, dark=dark)
    page.goto(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    assert _is_red(_rgb(page, "a.revoke-token"))
    assert not _is_red(_rgb(page, "a.rotate-token"))
    page.goto(f"/admin/accounts/user/{alice.pk}/change/")
    assert _is_red(_rgb(page, "a.revoke-token"))
    assert _is_red(_rgb(page, ".object-tools a.revoke-all"))
    page.goto(f"/admin/tokens/referencetoken/{tokens['service'].pk}/change/")
    assert _is_red(_rgb(page, ".object-tools a.revoke-token"))
    assert not _is_red(_rgb(page, ".object-tools a.rotate-token"))
    page.context.close()


_OVERLAPS = """
([boxes, others]) => {
  const rect = (el) => el.getBoundingClientRect();
  const meet = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const found = [];
  const first = [...document.querySelectorAll(boxes)];
  const second = others ? [...document.querySelectorAll(others)] : first;
  first.forEach((a, i) => second.forEach((b, j) => {
    if (a === b || (!others && j <= i)) return;
    const name = (el) => el.textContent.trim().slice(0, 30);
    if (meet(rect(a), rect(b))) found.push(`${name(a)} / ${name(b)}`);
  }));
  return found;
}
"""


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_token_pages_buttons_never_cover_its_title(browser, live_server, tokens, dark):
    page = admin_page(browser, live_server, dark=dark)
    page.goto(f"/admin/tokens/referencetoken/{tokens['service'].pk}/change/")
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        found = page.evaluate(
            _OVERLAPS, ["#content h1, #content h2:first-of-type", ".object-tools a"]
        )
        if found:
            problems[width] = found
    page.context.close()
    assert problems == {}


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_dashboard_tiles_never_overlap(browser, live_server, tokens, dark):
    page = admin_page(browser, live_server, dark=dark)
    page.goto("/admin/")
    problems = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        found = page.evaluate(_OVERLAPS, [".dashboard-figures a", None])
        # Each tile's link stays inside its cell (its bottom border shows).
        found += page.evaluate(
            """() => [...document.querySelectorAll('.dashboard-figures li')].filter(
                 (li) => li.firstElementChild.getBoundingClientRect().bottom
                         > li.getBoundingClientRect().bottom + 0.5
               ).map((li) => li.textContent.trim().slice(0, 30) + ': taller than its cell')"""
        )
        if found:
            problems[width] = found
    page.context.close()
    assert problems == {}


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_admin_pages_pass_axe_on_a_phone_and_a_laptop(
    browser, live_server, tokens, sync_app, alice, dark
):
    page = admin_page(browser, live_server, dark=dark)
    pages = [
        "/admin/",
        *LISTS,
        f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/",
        f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/",
        f"/admin/accounts/user/{alice.pk}/change/",
        f"/admin/tokens/referencetoken/{tokens['service'].pk}/change/",
        f"/admin/tokens/referencetoken/{tokens['personal'].pk}/revoke/",
    ]
    violations: dict = {}
    for url in pages:
        page.goto(url)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": HEIGHT})
            check_accessibility(page, f"{url} at {width}", violations)
    page.context.close()
    assert violations == {}, json.dumps(violations, indent=1)

"""An instance admin registers a resource server in a real browser: sudo mode asks for the
password first, its page carries the whole form (both scopes, every line of the resource URIs),
and the secret comes after, once."""

import json

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import check_accessibility, check_every_width, new_page, sign_in_at
from tests.helpers import PASSWORD, authenticates
from trustedapps.models import ResourceServer

URIS = ["https://billing.example.com/api", "https://billing.example.com/v2"]


@pytest.mark.e2e
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_registering_a_server_asks_the_password_and_keeps_the_form(
    browser, live_server, settings, admin_user, read_scope, update_scope, dark
):
    page = new_page(browser, live_server, js=True, dark=dark)
    sign_in_at(page, "/admin/login/", "Sign in")
    settings.REAUTH_MAX_AGE = 0  # as if the sign-in were long ago

    page.goto("/admin/trustedapps/resourceserver/add/")
    page.get_by_label("Client ID").fill("billing-api")
    page.get_by_label("Name").fill("Billing")
    page.get_by_role("checkbox", name="read", exact=True).check()
    page.get_by_role("checkbox", name="update", exact=True).check()
    page.get_by_label("Resource URIs").fill("\n".join(URIS))
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("heading", name="Confirm your password")).to_be_visible()
    expect(page.get_by_text("register the resource server billing-api")).to_be_visible()
    assert not ResourceServer.objects.exists()
    problems: dict = {}
    violations: dict = {}
    name = "admin-confirm-password" + ("-dark" if dark else "")
    check_every_width(page, name, problems)
    check_accessibility(page, name, violations)
    assert {"layout": problems, "axe": violations} == {"layout": {}, "axe": {}}, json.dumps(
        [problems, violations], indent=1
    )

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and continue").click()

    secret = page.locator("#shown-once-value").input_value()
    server = ResourceServer.objects.get()
    assert server.resource_uris == URIS
    assert {s.name for s in server.scopes.all()} == {"read", "update"}
    assert authenticates("billing-api", secret)
    page.context.close()

"""Issue 23, approval, in a real browser: alice requests a token, the admin is told by e-mail
and approves it in the admin, alice gets it shown once; a second request is denied with a reason."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.e2e.browser import TOKEN_RE, check_accessibility, new_page, sign_in, sign_in_at
from trustedapps.models import TokenPolicy, TrustedApplication


@pytest.fixture
def vault_app(read_scope, update_scope) -> TrustedApplication:
    app = TrustedApplication.objects.create(
        application_uri="com.example/vault", name="Vault", token_policy=TokenPolicy.APPROVAL
    )
    app.allowed_scopes.set([read_scope, update_scope])
    return app


def request_token(page, reason: str, violations: dict | None = None) -> None:
    page.goto("/profile/security/tokens/")
    page.get_by_role("link", name="Token requests").click()
    page.get_by_role("link", name="Request a token").click()
    if violations is not None:
        check_accessibility(page, "token-request-form", violations)
    page.get_by_label("Application").select_option(label="Vault (com.example/vault)")
    page.get_by_role("checkbox", name="read").check()
    page.get_by_label("Lifetime (days)").fill("14")
    page.get_by_label("Why you need it").fill(reason)
    page.get_by_role("button", name="Request token").click()
    expect(page.get_by_text("Your request for a token for Vault was sent")).to_be_visible()


def decide(admin, decision: str, reason: str = "") -> None:
    admin.goto("/admin/approvals/tokenrequest/?state=requested")
    admin.get_by_role("link", name="Approve or deny").first.click()
    admin.get_by_label(decision).check()
    if reason:
        admin.get_by_label("Reason").fill(reason)
    admin.get_by_role("button", name="Save decision").click()
    expect(admin.get_by_text("the requester is told")).to_be_visible()


def test_a_request_is_approved_picked_up_once_and_another_denied(
    page, browser, live_server, alice, admin_user, vault_app
):
    violations: dict = {}
    sign_in(page, "alice")
    request_token(page, "Nightly backup of the vault", violations)
    expect(page.get_by_text("Waiting for approval")).to_be_visible()
    check_accessibility(page, "token-requests", violations)
    assert "Nightly backup of the vault" in mail.outbox[-1].body
    assert mail.outbox[-1].to == [admin_user.email]

    admin = new_page(browser, live_server, js=True)
    sign_in_at(admin, "/admin/login/", "Sign in")
    admin.goto("/admin/")
    expect(admin.get_by_text("Token requests waiting for approval")).to_be_visible()
    decide(admin, "Approve")
    assert "approved" in mail.outbox[-1].subject

    page.reload()
    page.get_by_role("button", name="Approved: get your token").click()
    token = page.locator("#shown-once-value").input_value()
    assert TOKEN_RE.fullmatch(token)
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    assert all(token not in message.body for message in mail.outbox)

    # Shown once: the list now links to the token, and offers no second pick-up.
    page.goto("/profile/security/tokens/requests/")
    expect(page.get_by_text("Picked up")).to_be_visible()
    expect(page.get_by_role("button", name="Approved: get your token")).to_have_count(0)

    request_token(page, "Another one")
    decide(admin, "Deny", "One token per person for Vault")
    assert "denied" in mail.outbox[-1].subject
    page.reload()
    expect(page.get_by_text("Denied")).to_be_visible()
    expect(page.get_by_text("One token per person for Vault")).to_be_visible()
    assert violations == {}

"""The validation URL, the profile row and the admin column tell the same story about a token.

Each case changes one fact after the token was issued; the three readers must agree on whether
the token is usable and, where a page shows it, why not.
"""

import io
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.helpers import FORM, basic, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from tokens.validation.lookup import facts_from_rows, fetch, sql
from trustedapps.models import InstanceTokenPolicy, TokenPolicy


def validation_url_says_active(token: str, server) -> bool:
    response = Client().post(
        "/connect/introspect",
        f"token={token}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
    )
    assert response.status_code == 200
    return response.json()["active"]


def profile_label(client: Client, token: ReferenceToken) -> str:
    page = BeautifulSoup(client.get("/profile/security/tokens/?show=all").content, "html.parser")
    return page.select_one(f"#token-{token.pk} .label").get_text(strip=True)


def admin_label(client: Client, token: ReferenceToken) -> str:
    page = client.get(f"/admin/tokens/referencetoken/?q={token.hint}")
    cells = BeautifulSoup(page.content, "html.parser").select("td.field-status_label")
    assert len(cells) == 1
    return cells[0].get_text(strip=True)


def command_label(token: ReferenceToken) -> str:
    out = io.StringIO()
    call_command("token_status", str(token.pk), stdout=out)
    return out.getvalue().strip().split(": ", 1)[1]


def instance_rules(**fields):
    def change(token: ReferenceToken) -> None:
        InstanceTokenPolicy(**fields).save()

    return change


def never_expires_and_instance_rules(**fields):
    def change(token: ReferenceToken) -> None:
        ReferenceToken.objects.filter(pk=token.pk).update(expires_at=None)
        InstanceTokenPolicy(**fields).save()

    return change


LONGER = "Suspended: longer than this instance allows"


def withdraw_scopes(token: ReferenceToken) -> None:
    token.application.allowed_scopes.clear()


def set_app(**fields):
    def change(token: ReferenceToken) -> None:
        app = token.application
        for name, value in fields.items():
            setattr(app, name, value)
        app.save()

    return change


def deactivate_user(token: ReferenceToken) -> None:
    token.user.is_active = False
    token.user.save()


def expire(token: ReferenceToken) -> None:
    ReferenceToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def revoke(token: ReferenceToken) -> None:
    lifecycle.revoke_token(token, by=token.user, reason="no longer needed")


PERSONAL_CASES = {
    "revoked": (revoke, "Revoked"),
    "expired": (expire, "Expired"),
    "user inactive": (deactivate_user, "Suspended: its user is inactive"),
    "application disabled": (
        set_app(is_enabled=False),
        "Suspended: the application is disabled",
    ),
    "policy none": (
        set_app(token_policy=TokenPolicy.NONE),
        "Suspended: application policy no longer allows personal access tokens",
    ),
    "policy administrators only": (
        set_app(token_policy=TokenPolicy.ADMINISTRATORS_ONLY),
        "Suspended: application policy no longer allows personal access tokens",
    ),
    "scopes withdrawn": (
        withdraw_scopes,
        "Suspended: the application no longer allows any of its scopes",
    ),
    # The lifetime rules of issue 23 (alice's token was given 30 days).
    "instance longest lifetime": (
        instance_rules(personal_lifetime_mode="enforce", personal_lifetime_days=7),
        LONGER,
    ),
    "application longest lifetime": (
        set_app(personal_lifetime_mode="enforce", personal_lifetime_days=7),
        LONGER,
    ),
    "instance expiry required": (
        never_expires_and_instance_rules(personal_expiry_mode="enforce"),
        LONGER,
    ),
    "instance longest rotation chain": (
        instance_rules(personal_chain_mode="enforce", personal_chain_days=10),
        LONGER,
    ),
}


@pytest.mark.parametrize("case", PERSONAL_CASES)
def test_the_three_readers_agree_about_a_personal_token(
    case, alice, alice_token, orders_api, admin_user
):
    alice_browser, as_admin = signed_in(alice), signed_in(admin_user)
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert validation_url_says_active(alice_token.plaintext, orders_api)
    assert profile_label(alice_browser, token) == admin_label(as_admin, token) == "Active"

    change, label = PERSONAL_CASES[case]
    change(token)

    assert not validation_url_says_active(alice_token.plaintext, orders_api)
    if case != "user inactive":  # an inactive person cannot sign in to see their page
        assert profile_label(alice_browser, token) == label
    assert admin_label(as_admin, token) == label
    assert command_label(token) == label


SERVICE_CASES = {
    "revoked": (revoke, "Revoked"),
    "policy none": (
        set_app(token_policy=TokenPolicy.NONE),
        "Suspended: application policy no longer allows service access tokens",
    ),
    "system user removed": (
        set_app(has_system_user=False),
        "Suspended: the application no longer has a system user",
    ),
    "application disabled": (
        set_app(is_enabled=False),
        "Suspended: the application is disabled",
    ),
    "instance longest lifetime": (
        instance_rules(service_lifetime_mode="enforce", service_lifetime_days=7),
        LONGER,
    ),
    "application longest rotation chain": (
        set_app(service_chain_mode="enforce", service_chain_days=7),
        LONGER,
    ),
    "application requires address ranges": (
        set_app(service_tokens_need_ranges=True),
        "Suspended: its application requires address ranges of service tokens",
    ),
}


@pytest.mark.parametrize("case", SERVICE_CASES)
def test_the_validation_url_and_the_admin_agree_about_a_service_token(
    case, sync_service_token, orders_api, admin_user
):
    as_admin = signed_in(admin_user)
    token = ReferenceToken.objects.get(pk=sync_service_token.token.pk)
    assert validation_url_says_active(sync_service_token.plaintext, orders_api)
    assert admin_label(as_admin, token) == "Active"

    change, label = SERVICE_CASES[case]
    change(token)

    assert not validation_url_says_active(sync_service_token.plaintext, orders_api)
    assert admin_label(as_admin, token) == label
    assert command_label(token) == label


def test_regression_a_policy_change_no_longer_leaves_the_pages_saying_active(
    alice, alice_token, sync_app, orders_api, admin_user
):
    # The drift of issue 8: the validation URL said inactive, both pages still said "Active".
    alice_browser, as_admin = signed_in(alice), signed_in(admin_user)
    sync_app.token_policy = TokenPolicy.NONE
    sync_app.save()
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert not validation_url_says_active(alice_token.plaintext, orders_api)
    assert profile_label(alice_browser, token) != "Active"
    assert admin_label(as_admin, token) != "Active"


def test_pages_read_the_very_facts_the_validation_url_reads(
    alice_token, sync_service_token, carol, reports_app
):
    # One statement for all readers: by hash for /api/tokens/self, by id for the pages.
    admins_only = lifecycle.issue_personal(
        user=carol, application=reports_app, expires_at=expiry_in_days(7)
    )
    for issued in (alice_token, sync_service_token, admins_only):
        token = ReferenceToken.objects.get(pk=issued.token.pk)
        by_hash = facts_from_rows(fetch(sql()["holder"], [token.token_hash]), for_server=False)
        assert by_hash is not None and by_hash.token_id == token.pk
        assert token.facts == by_hash
        assert ReferenceToken.objects.with_facts().get(pk=token.pk).facts == by_hash
    assert ReferenceToken.objects.get(pk=admins_only.token.pk).facts.user_holds_admin_permission


def test_a_page_of_tokens_reads_its_facts_in_one_query(alice, sync_app, django_assert_num_queries):
    for n in range(12):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(n + 1))
    with django_assert_num_queries(2):  # the tokens, then the facts of all of them
        states = [token.state for token in ReferenceToken.objects.with_facts()[:10]]
    assert [state.label for state in states] == ["Active"] * 10

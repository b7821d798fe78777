"""The status rule, reason by reason, on plain facts: the one table of why a token is inactive."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from tokens.domain.status import Inactive, TokenFacts, evaluate

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# Alice's personal token for an application open to every signed-in user, with both scopes.
ALICE_PAT = TokenFacts(
    token_id=1,
    kind="personal",
    user_id=10,
    application_id=20,
    created_at=NOW - timedelta(days=1),
    expires_at=NOW + timedelta(days=30),
    revoked_at=None,
    last_used_at=None,
    username="alice",
    user_is_active=True,
    user_is_superuser=False,
    user_holds_admin_permission=False,
    user_system_application_id=None,
    application_uri="com.example/sync",
    application_enabled=True,
    token_policy="authenticated_users",
    application_has_system_user=True,
    scopes=("read", "update"),
)
# The application's service token, acting as its system user.
SYNC_SAT = dataclasses.replace(
    ALICE_PAT, kind="service", user_id=11, username="app.sync", user_system_application_id=20
)


def test_a_token_with_every_fact_in_order_is_active_with_its_scopes():
    for facts in (ALICE_PAT, SYNC_SAT):
        state = evaluate(facts, NOW)
        assert (state.is_active, state.code, state.label) == (True, "active", "Active")
        assert state.scopes == ("read", "update")


@pytest.mark.parametrize(
    ("facts", "reason", "label"),
    [
        (
            dataclasses.replace(ALICE_PAT, revoked_at=NOW - timedelta(seconds=1)),
            Inactive.REVOKED,
            "Revoked",
        ),
        (dataclasses.replace(ALICE_PAT, expires_at=NOW), Inactive.EXPIRED, "Expired"),
        (
            dataclasses.replace(ALICE_PAT, user_is_active=False),
            Inactive.USER_INACTIVE,
            "Suspended: its user is inactive",
        ),
        (
            dataclasses.replace(ALICE_PAT, application_enabled=False),
            Inactive.APPLICATION_DISABLED,
            "Suspended: the application is disabled",
        ),
        (
            dataclasses.replace(ALICE_PAT, token_policy="none"),
            Inactive.POLICY,
            "Suspended: application policy no longer allows personal access tokens",
        ),
        (
            dataclasses.replace(ALICE_PAT, token_policy="administrators_only"),
            Inactive.POLICY,
            "Suspended: application policy no longer allows personal access tokens",
        ),
        (
            dataclasses.replace(SYNC_SAT, token_policy="none"),
            Inactive.POLICY,
            "Suspended: application policy no longer allows service access tokens",
        ),
        (
            dataclasses.replace(SYNC_SAT, application_has_system_user=False, user_is_active=False),
            Inactive.SYSTEM_USER_REMOVED,
            "Suspended: the application no longer has a system user",
        ),
        (
            dataclasses.replace(ALICE_PAT, scopes=()),
            Inactive.NO_SCOPE,
            "Suspended: the application no longer allows any of its scopes",
        ),
        (
            dataclasses.replace(ALICE_PAT, server_scopes=()),
            Inactive.NO_SERVER_SCOPE,
            "Suspended: it has no scope that this resource server owns",
        ),
    ],
)
def test_each_fact_alone_makes_a_token_inactive_for_its_reason(facts, reason, label):
    state = evaluate(facts, NOW)
    assert (state.is_active, state.reason, state.label) == (False, reason, label)
    assert state.scopes == ()


def test_a_token_is_active_until_the_exact_moment_it_expires():
    expires_at = ALICE_PAT.expires_at
    assert evaluate(ALICE_PAT, expires_at - timedelta(microseconds=1)).is_active
    assert evaluate(ALICE_PAT, expires_at).reason == Inactive.EXPIRED


def test_a_token_without_an_expiry_never_expires():
    forever = dataclasses.replace(ALICE_PAT, expires_at=None)
    assert evaluate(forever, NOW + timedelta(days=36500)).is_active


def test_revoked_wins_over_every_other_reason():
    everything_wrong = dataclasses.replace(
        ALICE_PAT,
        revoked_at=NOW,
        expires_at=NOW,
        user_is_active=False,
        application_enabled=False,
        token_policy="none",
        scopes=(),
    )
    assert evaluate(everything_wrong, NOW).reason == Inactive.REVOKED


def test_administrators_keep_their_tokens_on_administrators_only_applications():
    admins_only = dataclasses.replace(ALICE_PAT, token_policy="administrators_only")
    superuser = dataclasses.replace(admins_only, user_is_superuser=True)
    permitted = dataclasses.replace(admins_only, user_holds_admin_permission=True)
    assert evaluate(superuser, NOW).is_active
    assert evaluate(permitted, NOW).is_active


def test_service_tokens_survive_administrators_only():
    assert evaluate(
        dataclasses.replace(SYNC_SAT, token_policy="administrators_only"), NOW
    ).is_active


def test_a_system_user_never_holds_a_personal_token():
    system_pat = dataclasses.replace(ALICE_PAT, user_system_application_id=20)
    assert evaluate(system_pat, NOW).reason == Inactive.POLICY


def test_a_service_token_of_another_applications_system_user_is_inactive():
    stray = dataclasses.replace(SYNC_SAT, user_system_application_id=99)
    assert evaluate(stray, NOW).reason == Inactive.SYSTEM_USER_REMOVED


def test_a_resource_server_sees_only_the_scopes_it_owns():
    state = evaluate(dataclasses.replace(ALICE_PAT, server_scopes=("read",)), NOW)
    assert (state.is_active, state.scopes) == (True, ("read",))


# --- Issue 23: lifetime rules and address ranges -------------------------------------------------

# ALICE_PAT was made yesterday and expires in 30 days: a lifetime of 31 days.
LONG = dataclasses.replace(ALICE_PAT, instance_lifetime_mode="enforce", instance_lifetime_days=7)


@pytest.mark.parametrize(
    ("facts", "reason", "would_refuse"),
    [
        (LONG, Inactive.LIFETIME_RULE, False),
        (dataclasses.replace(LONG, instance_lifetime_days=31), None, False),
        (dataclasses.replace(LONG, instance_lifetime_mode="report"), None, True),
        (dataclasses.replace(LONG, instance_lifetime_mode="off"), None, False),
        # The stricter wins: the application's enforced 7 days under the instance's report-only.
        (
            dataclasses.replace(
                ALICE_PAT,
                instance_lifetime_mode="report",
                instance_lifetime_days=90,
                app_lifetime_mode="enforce",
                app_lifetime_days=7,
            ),
            Inactive.LIFETIME_RULE,
            False,
        ),
        (dataclasses.replace(ALICE_PAT, app_expiry_mode="enforce"), None, False),
        (
            dataclasses.replace(ALICE_PAT, app_expiry_mode="enforce", expires_at=None),
            Inactive.LIFETIME_RULE,
            False,
        ),
        # The chain began 40 days ago: 70 days in all by its expiry.
        (
            dataclasses.replace(
                ALICE_PAT,
                chain_started_at=NOW - timedelta(days=40),
                instance_chain_mode="enforce",
                instance_chain_days=60,
            ),
            Inactive.LIFETIME_RULE,
            False,
        ),
        (
            dataclasses.replace(SYNC_SAT, application_requires_ranges=True),
            Inactive.RANGES_REQUIRED,
            False,
        ),
        (
            dataclasses.replace(
                SYNC_SAT, application_requires_ranges=True, allowed_ranges="192.0.2.0/24"
            ),
            None,
            False,
        ),
    ],
)
def test_the_lifetime_rules_and_the_ranges_requirement(facts, reason, would_refuse):
    state = evaluate(facts, NOW)
    assert (state.reason, state.would_refuse) == (reason, would_refuse)
    if reason is Inactive.LIFETIME_RULE:
        assert state.label == "Suspended: longer than this instance allows"


@pytest.mark.parametrize(
    ("client_ip", "active"),
    [
        ("192.0.2.1", True),
        ("2001:db8:1::1", True),
        ("192.0.3.1", False),
        (None, False),
        ("garbage", False),
    ],
)
def test_an_address_is_judged_only_where_one_is_checked(client_ip, active):
    ranged = dataclasses.replace(ALICE_PAT, allowed_ranges="192.0.2.0/24 2001:db8::/32")
    assert evaluate(ranged, NOW).is_active  # the pages: no address, no judgement
    state = evaluate(ranged, NOW, client_ip)
    assert state.is_active is active
    if not active:
        assert state.reason == Inactive.ADDRESS
    assert evaluate(ALICE_PAT, NOW, None).is_active  # no ranges: no address needed

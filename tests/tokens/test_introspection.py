from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission

from tests.helpers import register_server
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.format import make_token
from tokens.models import ReferenceToken
from tokens.validation.checks import InvalidClient, check_for_holder, check_for_resource_server
from trustedapps.models import Scope


def test_an_issued_token_is_active_for_a_server_that_owns_its_scopes(alice_token, orders_api):
    active = check_for_resource_server(
        alice_token.plaintext, client_id=orders_api.client_id, client_secret=orders_api.secret
    )
    assert active is not None
    assert active.username == "alice"
    assert active.scopes == ("read", "update")


def test_scopes_narrow_to_those_the_server_owns(alice_token, search_api):
    active = check_for_resource_server(
        alice_token.plaintext, client_id=search_api.client_id, client_secret=search_api.secret
    )
    assert active.scopes == ("read",)


def test_a_check_costs_one_query_within_the_last_used_interval(
    alice_token, orders_api, django_assert_num_queries
):
    check = dict(client_id=orders_api.client_id, client_secret=orders_api.secret)
    with django_assert_num_queries(2):  # the lookup, and the first last_used_at write
        check_for_resource_server(alice_token.plaintext, **check)
    with django_assert_num_queries(1):
        check_for_resource_server(alice_token.plaintext, **check)


def test_a_token_expires_at_its_exact_expiry(alice_token):
    expires_at = alice_token.token.expires_at
    assert check_for_holder(alice_token.plaintext, now=expires_at - timedelta(microseconds=1))
    assert check_for_holder(alice_token.plaintext, now=expires_at) is None


def test_a_revoked_token_is_inactive(alice_token, alice):
    lifecycle.revoke_token(ReferenceToken.objects.get(pk=alice_token.token.pk), by=alice)
    assert check_for_holder(alice_token.plaintext) is None


# The lookup gathers each fact the rule needs (the rule itself is tests/tokens/test_status.py;
# tests/tokens/test_status_agreement.py changes each fact and asks every reader). Each test first
# shows the token active, then changes one fact, so it cannot pass for the wrong reason.


def check(issued, server):
    return check_for_resource_server(
        issued.plaintext, client_id=server.client_id, client_secret=server.secret
    )


def test_a_token_is_inactive_at_its_exact_expiry_for_a_resource_server(alice_token, orders_api):
    expires_at = alice_token.token.expires_at
    check_at = dict(client_id=orders_api.client_id, client_secret=orders_api.secret)
    just_before = expires_at - timedelta(microseconds=1)
    assert check_for_resource_server(alice_token.plaintext, now=just_before, **check_at)
    assert check_for_resource_server(alice_token.plaintext, now=expires_at, **check_at) is None


def test_a_token_of_a_disabled_application_is_inactive_until_it_is_enabled(
    alice_token, sync_service_token, sync_app, orders_api
):
    sync_app.is_enabled = False
    sync_app.save()
    assert check(alice_token, orders_api) is None
    assert check(sync_service_token, orders_api) is None
    sync_app.is_enabled = True
    sync_app.save()
    assert check(alice_token, orders_api) is not None


@pytest.fixture
def carol_reports_token(carol, reports_app):
    """carol's personal token for Reports, open to administrators only."""
    return lifecycle.issue_personal(
        user=carol, application=reports_app, expires_at=expiry_in_days(7)
    )


def test_an_admin_token_dies_when_the_admin_loses_the_permission(
    carol, carol_reports_token, search_api
):
    assert check(carol_reports_token, search_api)
    carol.user_permissions.clear()
    assert check(carol_reports_token, search_api) is None


def test_an_admin_holding_the_permission_through_a_group_stays_active(
    carol, carol_reports_token, search_api
):
    admins = Group.objects.create(name="token admins")
    admins.permissions.add(Permission.objects.get(codename="issue_service_tokens"))
    carol.groups.add(admins)
    carol.user_permissions.clear()
    assert check(carol_reports_token, search_api) is not None
    carol.groups.clear()
    assert check(carol_reports_token, search_api) is None


def test_a_superuser_token_dies_when_the_superuser_is_demoted(admin_user, reports_app, search_api):
    issued = lifecycle.issue_personal(
        user=admin_user, application=reports_app, expires_at=expiry_in_days(7)
    )
    assert check(issued, search_api)
    admin_user.is_superuser = False
    admin_user.save()
    assert check(issued, search_api) is None


def test_a_resource_server_without_a_shared_scope_sees_an_inactive_token(alice_token):
    billing_api = register_server("billing-api", [Scope.objects.create(name="billing")])
    assert check(alice_token, billing_api) is None
    assert check_for_holder(alice_token.plaintext) is not None


def test_a_server_sees_only_scopes_the_token_was_given(alice, sync_app, read_scope, orders_api):
    issued = lifecycle.issue_personal(
        user=alice,
        application=sync_app,
        scopes=[read_scope],
        expires_at=expiry_in_days(1),
    )
    assert check(issued, orders_api).scopes == ("read",)


def test_an_active_check_says_whom_the_token_acts_for(sync_service_token, orders_api):
    active = check(sync_service_token, orders_api)
    token = sync_service_token.token
    assert active.id == token.pk
    assert active.kind == "service"
    assert (active.user_id, active.username) == (token.user_id, "app.com.example-sync")
    assert active.application_uri == "com.example/sync"
    assert active.issued_at == token.created_at
    assert active.expires_at == token.expires_at


def test_a_wrong_secret_is_an_invalid_client(alice_token, orders_api):
    with pytest.raises(InvalidClient):
        check_for_resource_server(
            alice_token.plaintext, client_id="orders-api", client_secret="guess"
        )


def test_an_unknown_client_is_an_invalid_client(alice_token, orders_api):
    with pytest.raises(InvalidClient):
        check_for_resource_server(
            alice_token.plaintext, client_id="nobody", client_secret=orders_api.secret
        )


def test_a_disabled_resource_server_is_an_invalid_client(alice_token, orders_api):
    orders_api.server.is_enabled = False
    orders_api.server.save()
    with pytest.raises(InvalidClient):
        check(alice_token, orders_api)


def test_an_unknown_well_formed_token_is_inactive(orders_api, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert check(IssuedTokenLike(make_token()), orders_api) is None
    # The caller is still authenticated when the token is unknown.
    with pytest.raises(InvalidClient):
        check_for_resource_server(make_token(), client_id="orders-api", client_secret="guess")


class IssuedTokenLike:
    def __init__(self, plaintext: str) -> None:
        self.plaintext = plaintext


MALFORMED = [
    "",
    "enrt_",
    "enrt_" + "A" * 63,
    "enrt_" + "A" * 65,
    "ENRT_" + "A" * 64,
    "garbage",
    "enrt_" + "g" * 64,
]


def _looks_up_a_token(queries) -> bool:
    return any(ReferenceToken._meta.db_table in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("token", [*MALFORMED, None, 42, b"enrt_"])
def test_a_malformed_token_costs_no_token_lookup(token, orders_api, django_assert_num_queries):
    with django_assert_num_queries(1) as queries:  # the caller's credentials, nothing else
        assert check(IssuedTokenLike(token), orders_api) is None
    assert not _looks_up_a_token(queries)
    with django_assert_num_queries(0):
        assert check_for_holder(token) is None


def test_a_malformed_token_from_a_wrong_caller_is_an_invalid_client(orders_api):
    # The caller is checked first, whatever the token: a stale secret is told so at once.
    with pytest.raises(InvalidClient):
        check_for_resource_server("garbage", client_id="orders-api", client_secret="stale")


def test_a_token_with_a_bad_checksum_or_lower_case_costs_no_token_lookup(
    alice_token, orders_api, django_assert_num_queries
):
    plaintext = alice_token.plaintext
    last = plaintext[-1]
    typo = plaintext[:-1] + ("0" if last != "0" else "1")
    with django_assert_num_queries(4) as queries:  # one caller check each
        assert check(IssuedTokenLike(typo), orders_api) is None
        assert check(IssuedTokenLike("enrt_" + plaintext[5:].lower()), orders_api) is None
        assert check(IssuedTokenLike(plaintext + "\n"), orders_api) is None
        assert check(IssuedTokenLike(" " + plaintext), orders_api) is None
    assert not _looks_up_a_token(queries)


def test_a_check_costs_the_same_queries_however_many_tokens_exist(
    alice, sync_app, orders_api, django_assert_num_queries, settings
):
    settings.TOKEN_LAST_USED_INTERVAL = 10**9  # isolate the lookup from the last-used write
    expiry = expiry_in_days(1)
    first = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry)
    check(first, orders_api)  # its one last_used_at write
    with django_assert_num_queries(1):
        assert check(first, orders_api)
    many = [
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry)
        for _ in range(30)
    ]
    for issued in (first, many[-1]):
        check(issued, orders_api)
        with django_assert_num_queries(1):
            assert check(issued, orders_api)


def test_a_check_of_an_administrators_only_token_by_a_non_superuser_costs_one_query(
    carol_reports_token, search_api, django_assert_num_queries
):
    check(carol_reports_token, search_api)
    # Whether carol still holds the permission (it can change at any time) is part of the lookup.
    with django_assert_num_queries(1):
        assert check(carol_reports_token, search_api)


def test_last_used_is_written_at_most_once_per_interval(alice_token, orders_api):
    issued_at = alice_token.token.created_at
    check_at = dict(client_id=orders_api.client_id, client_secret=orders_api.secret)
    check_for_resource_server(
        alice_token.plaintext, now=issued_at + timedelta(seconds=1), **check_at
    )
    check_for_resource_server(
        alice_token.plaintext, now=issued_at + timedelta(seconds=30), **check_at
    )
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.last_used_at == issued_at + timedelta(seconds=1)
    check_for_resource_server(
        alice_token.plaintext,
        now=issued_at + timedelta(seconds=61),
        client_ip="192.0.2.1",
        **check_at,
    )
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (
        issued_at + timedelta(seconds=61),
        "192.0.2.1",
    )

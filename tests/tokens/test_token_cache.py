"""The cache of validation facts: every change that can alter an answer reaches another worker.

Each test plays a second worker: a FactsCache with its own LISTEN connection, filled by a check,
proven to answer from memory, then a change is made through the admin, a command, the ORM (as a
shell would) or plain SQL, and the second worker must answer inactive within the bound. The waits
poll until the condition holds (generous timeout); nothing asserts on the clock.

PostgreSQL only: SQLite has no LISTEN, and there the cache is off.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.admin.conftest import signed_in
from tokens import last_use
from tokens.cache import APPLICATION_NAME, MISS, FactsCache, listener_conninfo, process_cache
from tokens.format import hash_token, make_token
from tokens.introspection import InvalidClient, check_for_holder, check_for_resource_server
from tokens.models import ReferenceToken
from trustedapps.models import TrustedApplication

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the token cache needs PostgreSQL LISTEN/NOTIFY"
    ),
    pytest.mark.django_db(transaction=True),  # notifications are sent on commit
]

BOUND = 10.0  # seconds: generous, so a busy machine never makes a test flaky


def eventually(condition: Callable[[], bool], timeout: float = BOUND) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def worker():
    """A second worker's cache: its own listener connection, a TTL far beyond the test."""
    cache = FactsCache(size=100, ttl=3600, conninfo=listener_conninfo())
    cache.start()
    assert cache.wait_until_trusted(BOUND)
    yield cache
    cache.stop()


def active(cache: FactsCache, token: str, server) -> bool:
    try:
        return (
            check_for_resource_server(
                token, client_id=server.client_id, client_secret=server.secret, cache=cache
            )
            is not None
        )
    except InvalidClient:
        return False


def cached_and_active(cache: FactsCache, token: str, server) -> None:
    """Fill the cache, and prove a check is answered from it (the fixtures' own changes may
    still be arriving, each dropping what was just stored)."""

    def answered_from_memory() -> bool:
        hits = cache.hits
        assert active(cache, token, server)
        return cache.hits == hits + 1

    assert eventually(answered_from_memory)


def heard_everything_before(cache: FactsCache) -> None:
    """Wait until the cache has heard every change committed so far: notifications arrive in
    commit order, so once a marker sent now is heard, everything before it was."""
    invalidations = cache.invalidations
    sql("SELECT pg_notify('portal_token_cache', '*:marker')")
    assert eventually(lambda: cache.invalidations > invalidations)


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- The token itself ----------------------------------------------------------------------


def test_revoking_through_the_admin_reaches_another_worker(
    worker, alice_token, orders_api, admin_user
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    response = signed_in(admin_user).post(
        "/admin/tokens/referencetoken/",
        {
            "action": "revoke_tokens",
            "post": "yes",
            "reason": "leaked",
            ACTION_CHECKBOX_NAME: [alice_token.token.pk],
        },
    )

    assert response.status_code == 302
    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_revoking_with_the_command_reaches_another_worker(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    call_command("revoke_token", str(alice_token.token.pk), reason="rotated")

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_revoking_with_plain_sql_reaches_another_worker(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql("UPDATE tokens_referencetoken SET revoked_at = now() WHERE id = %s", [alice_token.token.pk])

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_revoking_at_the_revocation_url_is_seen_at_once_by_the_same_process(
    client, alice_token, orders_api
):
    cache = process_cache()
    assert cache is not None and cache.wait_until_trusted(BOUND)
    cached_and_active(cache, alice_token.plaintext, orders_api)

    response = client.post(
        "/connect/revocation",
        f"token={alice_token.plaintext}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200

    # No wait: the process that revoked forgets before the response returns.
    assert not active(cache, alice_token.plaintext, orders_api)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE tokens_referencetoken SET expires_at = now() - interval '1 second' WHERE id = %s",
        "DELETE FROM tokens_referencetoken_scopes WHERE referencetoken_id = %s",
        "DELETE FROM tokens_tokenevent WHERE token_id = %(id)s;"
        " DELETE FROM tokens_referencetoken_scopes WHERE referencetoken_id = %(id)s;"
        " DELETE FROM tokens_referencetoken WHERE id = %(id)s",
    ],
    ids=["expired", "scopes-removed", "deleted"],
)
def test_a_change_to_the_token_reaches_another_worker(worker, alice_token, orders_api, change):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    pk = alice_token.token.pk

    sql(change, {"id": pk} if "%(id)s" in change else [pk])

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_issuing_a_token_that_was_cached_as_unknown_reaches_another_worker(
    worker, alice_token, orders_api
):
    # A cached "unknown" must not outlive the token's arrival: an insert (here, a hash taking
    # the place of another) is announced like any other change.
    newcomer = make_token()

    def unknown_from_memory() -> bool:
        hits = worker.hits
        assert not active(worker, newcomer, orders_api)
        return worker.hits == hits + 1

    assert eventually(unknown_from_memory)

    sql(
        "UPDATE tokens_referencetoken SET token_hash = %s WHERE id = %s",
        [hash_token(newcomer), alice_token.token.pk],
    )

    assert eventually(lambda: active(worker, newcomer, orders_api))


def test_the_last_use_write_announces_nothing(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    heard_everything_before(worker)
    invalidations = worker.invalidations
    sql(
        "UPDATE tokens_referencetoken SET last_used_at = now(), last_used_ip = '10.0.0.1'"
        " WHERE id = %s",
        [alice_token.token.pk],
    )
    # Something that is announced, after it: once it is heard, the first was heard too.
    sql(
        "UPDATE tokens_referencetoken SET expires_at = expires_at + interval '1 day' WHERE id = %s",
        [alice_token.token.pk],
    )

    assert eventually(lambda: worker.invalidations > invalidations)
    assert worker.invalidations == invalidations + 1


# --- Its user ------------------------------------------------------------------------------


def test_deactivating_the_user_reaches_another_worker(worker, alice, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    alice.is_active = False
    alice.save()  # as the admin's form or a shell would

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_deactivating_the_user_with_plain_sql_reaches_another_worker(
    worker, alice, alice_token, orders_api
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql("UPDATE accounts_user SET is_active = false WHERE id = %s", [alice.pk])

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


@pytest.fixture
def admins_group(db) -> Group:
    group = Group.objects.create(name="instance admins")
    group.permissions.add(Permission.objects.get(codename="issue_service_tokens"))
    return group


@pytest.mark.parametrize("how", ["superuser", "permission", "group", "group-permission"])
def test_losing_administrator_rights_reaches_another_worker(
    worker, alice, reports_app, search_api, admins_group, how
):
    # Reports is open to administrators only: alice's token works while she is one.
    permission = Permission.objects.get(codename="issue_service_tokens")
    if how == "superuser":
        alice.is_superuser = True
        alice.save()
    elif how == "permission":
        alice.user_permissions.add(permission)
    else:
        alice.groups.add(admins_group)
    issued = ReferenceToken.objects.issue_personal(
        user=alice, application=reports_app, expires_at=timezone.now() + timedelta(days=10)
    )
    cached_and_active(worker, issued.plaintext, search_api)

    if how == "superuser":
        sql("UPDATE accounts_user SET is_superuser = false WHERE id = %s", [alice.pk])
    elif how == "permission":
        alice.user_permissions.remove(permission)
    elif how == "group":
        sql("DELETE FROM accounts_user_groups WHERE user_id = %s", [alice.pk])
    else:
        admins_group.permissions.clear()

    assert eventually(lambda: not active(worker, issued.plaintext, search_api))


# --- Its application -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE trustedapps_trustedapplication SET is_enabled = false WHERE id = %s",
        "UPDATE trustedapps_trustedapplication SET token_policy = 'none' WHERE id = %s",
        "DELETE FROM trustedapps_trustedapplication_allowed_scopes"
        " WHERE trustedapplication_id = %s",
    ],
    ids=["disabled", "policy-none", "scopes-removed"],
)
def test_a_change_to_the_application_reaches_another_worker(
    worker, alice_token, sync_app, orders_api, change
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql(change, [sync_app.pk])

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_disabling_the_application_with_the_orm_reaches_another_worker(
    worker, alice_token, sync_app, orders_api
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    TrustedApplication.objects.filter(pk=sync_app.pk).update(is_enabled=False)

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_losing_the_system_user_reaches_another_worker(
    worker, sync_service_token, sync_app, orders_api
):
    cached_and_active(worker, sync_service_token.plaintext, orders_api)

    sql(
        "UPDATE trustedapps_trustedapplication SET has_system_user = false WHERE id = %s",
        [sync_app.pk],
    )

    assert eventually(lambda: not active(worker, sync_service_token.plaintext, orders_api))


# --- The resource server -------------------------------------------------------------------


def test_rotating_the_secret_in_the_admin_reaches_another_worker(
    worker, alice_token, orders_api, admin_user
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    response = signed_in(admin_user).post(
        f"/admin/trustedapps/resourceserver/{orders_api.server.pk}/rotate-secret/"
    )

    assert response.status_code == 200
    # The old secret is refused (an InvalidClient, which `active` reads as not active).
    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_registering_a_server_with_the_command_reaches_a_cached_unknown_caller(
    worker, alice_token, read_scope
):
    class Caller:
        client_id = "billing-api"
        secret = "not-yet"

    assert not active(worker, alice_token.plaintext, Caller)  # cached: no such caller
    out = io.StringIO()
    call_command("register_resource_server", "billing-api", "--scopes", "read", stdout=out)
    Caller.secret = out.getvalue().strip()

    assert eventually(lambda: active(worker, alice_token.plaintext, Caller))


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE trustedapps_resourceserver SET is_enabled = false WHERE id = %s",
        "DELETE FROM trustedapps_resourceserver_scopes WHERE resourceserver_id = %s",
    ],
    ids=["disabled", "scopes-removed"],
)
def test_a_change_to_the_server_reaches_another_worker(worker, alice_token, orders_api, change):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql(change, [orders_api.server.pk])

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_new_resource_uris_reach_another_worker(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql(
        "UPDATE trustedapps_resourceserver SET resource_uris = %s WHERE id = %s",
        ['["https://orders.example.com/api"]', orders_api.server.pk],
    )

    def audience():
        return check_for_resource_server(
            alice_token.plaintext,
            client_id=orders_api.client_id,
            client_secret=orders_api.secret,
            cache=worker,
        ).audience

    assert eventually(lambda: audience() == ("orders-api", "https://orders.example.com/api"))


def test_a_malformed_token_checks_its_caller_from_memory_until_the_secret_changes(
    worker, orders_api
):
    def caller_accepted() -> bool:
        try:
            return (
                check_for_resource_server(
                    "garbage", client_id="orders-api", client_secret=orders_api.secret, cache=worker
                )
                is None
            )
        except InvalidClient:
            return False

    def answered_from_memory() -> bool:
        hits = worker.hits
        assert caller_accepted()
        return worker.hits == hits + 1

    assert eventually(answered_from_memory)

    sql(
        "UPDATE trustedapps_resourceserver SET secret_hash = 'rotated' WHERE id = %s",
        [orders_api.server.pk],
    )

    assert eventually(lambda: not caller_accepted())


# --- Failing safe --------------------------------------------------------------------------


def test_while_the_listener_is_down_every_check_asks_the_database(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    worker.reconnect_delay = 30  # keep it down for the test
    sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        [APPLICATION_NAME],
    )
    assert eventually(lambda: not worker.trusted)
    misses = worker.bypassed

    # Unheard by the worker, yet seen by its next check.
    sql("UPDATE tokens_referencetoken SET revoked_at = now() WHERE id = %s", [alice_token.token.pk])

    assert not active(worker, alice_token.plaintext, orders_api)
    assert worker.bypassed == misses + 1
    assert len(worker) == 0


def test_the_cache_is_cleared_when_the_listener_comes_back(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    connects = worker.connects
    sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        [APPLICATION_NAME],
    )

    assert eventually(lambda: worker.connects > connects and worker.trusted)
    assert len(worker) == 0
    cached_and_active(worker, alice_token.plaintext, orders_api)


def test_an_unparsable_notification_clears_everything(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql("SELECT pg_notify('portal_token_cache', 'what is this')")

    assert eventually(lambda: len(worker) == 0)


def test_a_lookup_that_began_before_an_invalidation_stores_nothing():
    cache = FactsCache(size=10, ttl=60)
    cache._set_connected(True)
    generation = cache.generation
    cache.apply("t:" + "a" * 64)  # heard while the lookup was at the database

    assert cache.put("b" * 64, "orders-api", ("stale",), generation) is False
    assert len(cache) == 0


# --- Bounds --------------------------------------------------------------------------------


def test_the_least_recently_used_token_goes_first():
    cache = FactsCache(size=2, ttl=60)
    cache._set_connected(True)
    for name in "abc":
        if name == "c":
            cache.get("a" * 64, None)  # a is used again: b is now the oldest
        cache.put(name * 64, None, name, cache.generation)

    assert len(cache) == 2
    assert cache.get("a" * 64, None) == "a"
    assert cache.get("c" * 64, None) == "c"
    assert cache.get("b" * 64, None) is MISS


def test_an_entry_older_than_the_ttl_is_not_served():
    now = [1000.0]
    cache = FactsCache(size=10, ttl=5, clock=lambda: now[0])
    cache._set_connected(True)
    cache.put("a" * 64, None, "facts", cache.generation)
    now[0] += 4.9
    assert cache.get("a" * 64, None) == "facts"

    now[0] += 0.2

    assert cache.get("a" * 64, None) is MISS


# --- Last use, on cached checks ------------------------------------------------------------


@pytest.fixture
def buffered(settings):
    settings.TOKEN_LAST_USED_FLUSH = 3600  # flushed by the test, never by the thread in time


def test_cached_checks_record_one_use_per_interval(worker, alice_token, orders_api, buffered):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    for _ in range(5):
        assert active(worker, alice_token.plaintext, orders_api)

    assert last_use.flush() == 1
    first = ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at
    assert first is not None
    for _ in range(5):
        assert active(worker, alice_token.plaintext, orders_api)

    assert last_use.flush() == 0  # still within the interval: nothing to write
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at == first


def test_a_check_never_waits_for_the_last_use_write(
    worker, alice_token, orders_api, buffered, django_assert_num_queries
):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    worker.clear()
    with django_assert_num_queries(1):  # the lookup only; the use is buffered
        assert active(worker, alice_token.plaintext, orders_api)
    with django_assert_num_queries(0):  # from the cache
        assert active(worker, alice_token.plaintext, orders_api)
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at is None

    assert last_use.flush() == 1

    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at is not None


def test_a_cached_check_after_the_interval_records_a_use_again(
    worker, alice_token, orders_api, buffered, settings
):
    later = timezone.now() + timedelta(seconds=settings.TOKEN_LAST_USED_INTERVAL + 1)
    cached_and_active(worker, alice_token.plaintext, orders_api)
    assert last_use.flush() == 1

    token = check_for_resource_server(
        alice_token.plaintext,
        client_id=orders_api.client_id,
        client_secret=orders_api.secret,
        now=later,
        cache=worker,
    )

    assert token is not None and worker.hits >= 1
    assert last_use.flush() == 1
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at == later


def test_the_holder_sees_a_use_recorded_but_not_yet_written(
    worker, alice_token, orders_api, buffered
):
    assert active(worker, alice_token.plaintext, orders_api)
    described = check_for_holder(alice_token.plaintext, cache=worker)
    assert described is not None
    assert check_for_holder(alice_token.plaintext, cache=worker).last_used_at is not None


def test_any_change_to_a_resource_server_row_is_announced(worker, alice_token, orders_api):
    # Columns added later (a server's resource URIs, carried by the answer's `aud`) are
    # covered without a trigger of their own: every change of the row is announced.
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql(
        "UPDATE trustedapps_resourceserver SET name = 'Orders, renamed' WHERE id = %s",
        [orders_api.server.pk],
    )

    assert eventually(lambda: len(worker) == 0)

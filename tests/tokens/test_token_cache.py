"""The cache of validation facts: every change that can alter an answer reaches another worker.

Each test of the listener plays a second worker: a FactsCache with its own LISTEN connection,
filled by a check, proven to answer from memory, then a change is made through the admin, a
command, the ORM (as a shell would) or plain SQL, and the second worker must answer inactive
within the bound. The waits poll until the condition holds (generous timeout); nothing asserts on
the clock.

Those need PostgreSQL (SQLite has no LISTEN, and there the cache is off): they ask for the
`listening` fixture. The cache's own rules (its bounds, expiry, trust) run on both databases.
"""

from __future__ import annotations

import io
import os
import secrets
import select
import socket
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.helpers import BOUND, active, cached_and_active, eventually, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.format import hash_token, make_token
from tokens.models import ReferenceToken
from tokens.validation import last_use
from tokens.validation.cache import (
    APPLICATION_NAME,
    MISS,
    FactsCache,
    database_conninfo,
    process_cache,
    stop_process_cache,
)
from tokens.validation.checks import InvalidClient, check_for_holder, check_for_resource_server
from trustedapps.models import InstanceTokenPolicy, TrustedApplication


def trusted_cache(**options) -> FactsCache:
    """A cache with no listener that heard its heartbeat just now (trusted for an hour)."""
    cache = FactsCache(**{"size": 10, "ttl": 60, "probe_deadline": 3600, **options})
    cache.heard(cache.clock())
    return cache


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
    listening, client, alice_token, orders_api
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
    issued = lifecycle.issue_personal(
        user=alice, application=reports_app, expires_at=expiry_in_days(10)
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


# --- The lifetime rules (issue 23) ---------------------------------------------------------


def test_an_instance_lifetime_rule_reaches_another_worker_and_so_does_relaxing_it(
    worker, alice_token, orders_api
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    policy = InstanceTokenPolicy(personal_lifetime_mode="enforce", personal_lifetime_days=7)
    policy.save()
    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))

    sql("UPDATE trustedapps_instancetokenpolicy SET personal_lifetime_mode = 'report'")
    assert eventually(lambda: active(worker, alice_token.plaintext, orders_api))


def test_an_application_lifetime_rule_reaches_another_worker(
    worker, sync_service_token, sync_app, orders_api
):
    cached_and_active(worker, sync_service_token.plaintext, orders_api)

    sql(
        "UPDATE trustedapps_trustedapplication SET service_lifetime_mode = 'enforce',"
        " service_lifetime_days = 7 WHERE id = %s",
        [sync_app.pk],
    )

    assert eventually(lambda: not active(worker, sync_service_token.plaintext, orders_api))


def test_requiring_address_ranges_reaches_another_worker(
    worker, sync_service_token, sync_app, orders_api
):
    cached_and_active(worker, sync_service_token.plaintext, orders_api)

    sql(
        "UPDATE trustedapps_trustedapplication SET service_tokens_need_ranges = true WHERE id = %s",
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


def test_a_caller_not_yet_registered_is_not_remembered(worker, alice_token, read_scope):
    class Caller:
        client_id = "billing-api"
        secret = "not-yet"

    for _ in range(3):
        assert not active(worker, alice_token.plaintext, Caller)
    assert (len(worker), worker.hits) == (0, 0)
    out = io.StringIO()
    call_command("register_resource_server", "billing-api", "--scopes", "read", stdout=out)
    Caller.secret = out.getvalue().strip()

    # At once, whether or not the registration was heard yet: nothing was kept to forget.
    assert active(worker, alice_token.plaintext, Caller)


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


def cut_listeners() -> None:
    """Terminate the listeners' connections to this test database (never anyone else's)."""
    sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = %s AND datname = current_database()",
        [APPLICATION_NAME],
    )


def test_while_the_listener_is_down_every_check_asks_the_database(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)
    worker.reconnect_delay = 30  # keep it down for the test
    cut_listeners()
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
    cut_listeners()

    assert eventually(lambda: worker.connects > connects and worker.trusted)
    assert len(worker) == 0
    cached_and_active(worker, alice_token.plaintext, orders_api)


def test_an_unparsable_notification_clears_everything(worker, alice_token, orders_api):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    sql("SELECT pg_notify('portal_token_cache', 'what is this')")

    assert eventually(lambda: len(worker) == 0)


@pytest.fixture
def listening_elsewhere(listening, settings):
    """This process's cache, its listener pointed at another database of the same server (a
    wrong TOKEN_CACHE_LISTEN_URL): it connects and LISTENs without error, and hears nothing
    the portal writes."""
    settings.TOKEN_CACHE_LISTEN_URL = psycopg.conninfo.make_conninfo(
        **{**database_conninfo(), "dbname": "postgres"}
    )
    settings.TOKEN_CACHE_PROBE_DEADLINE = 0.5
    stop_process_cache()  # the next check starts one with these settings
    yield
    stop_process_cache()


def test_a_listener_on_another_database_is_never_trusted(
    listening_elsewhere, alice_token, orders_api, django_assert_num_queries
):
    assert active(None, alice_token.plaintext, orders_api)
    cache = process_cache()
    # Connected, heartbeats sent, none heard, given up and connected again.
    assert eventually(lambda: cache.connects >= 2 and cache.probes_sent >= 2)
    assert (cache.trusted, cache.probes_heard, len(cache)) == (False, 0, 0)

    for _ in range(2):
        with django_assert_num_queries(1):  # every check asks the database
            assert active(None, alice_token.plaintext, orders_api)
    sql("UPDATE tokens_referencetoken SET revoked_at = now() WHERE id = %s", [alice_token.token.pk])

    assert not active(None, alice_token.plaintext, orders_api)


class Relay:
    """A TCP relay to PostgreSQL that can stop passing bytes without closing anything, as a
    connection whose far end vanished (or a stalled proxy) looks to the listener."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                if not select.select([self.server], [], [], 0.05)[0]:
                    continue
                near, _ = self.server.accept()
                far = socket.create_connection(self.target)
            except OSError:
                return  # closed
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with source, sink:
            while not self.closed.is_set():
                try:
                    if not select.select([source], [], [], 0.05)[0]:
                        continue
                    # Checked once bytes are there: none that arrive after a pause get through.
                    if not self.flowing.is_set():
                        self.flowing.wait(0.05)
                        continue
                    data = source.recv(65536)
                    if not data:
                        return
                    sink.sendall(data)
                except (OSError, ValueError):  # the other direction closed both sockets
                    return

    def close(self) -> None:
        self.closed.set()
        self.server.close()


@pytest.fixture
def relayed_worker(listening):
    """A second worker whose listener goes through a Relay (its heartbeats go straight to the
    database), on a clock the test moves by hand."""
    params = database_conninfo()
    relay = Relay(params.get("host") or "127.0.0.1", int(params.get("port") or 5432))
    now = [time.monotonic()]
    cache = FactsCache(
        size=100,
        ttl=3600,
        probe_deadline=5,
        conninfo={**params, "host": "127.0.0.1", "port": relay.port},
        probe_conninfo=params,
        clock=lambda: now[0],
    )
    cache.start()
    assert cache.wait_until_trusted(BOUND)
    yield cache, relay, now
    relay.flowing.set()
    cache.stop()
    relay.close()


def test_a_listener_that_stops_hearing_falls_back_to_the_database_within_the_deadline(
    relayed_worker, alice_token, orders_api
):
    worker, relay, now = relayed_worker
    cached_and_active(worker, alice_token.plaintext, orders_api)
    # The clock stands still, so the one heartbeat heard was sent at now[0].
    relay.flowing.clear()  # from here the listener hears nothing, and no error tells it so
    sql("UPDATE tokens_referencetoken SET revoked_at = now() WHERE id = %s", [alice_token.token.pk])
    now[0] += worker.probe_deadline
    assert worker.trusted  # a revocation this old may still be on its way: still trusted

    now[0] += 0.01
    bypassed = worker.bypassed

    assert not worker.trusted
    assert not active(worker, alice_token.plaintext, orders_api)  # asked the database
    assert worker.bypassed == bypassed + 1

    relay.flowing.set()
    assert eventually(lambda: worker.trusted)
    assert len(worker) == 0  # what it held may have missed a change: it starts over
    assert not active(worker, alice_token.plaintext, orders_api)


def test_heartbeats_clear_nothing(worker, alice_token, orders_api, django_assert_num_queries):
    heard_everything_before(worker)  # the fixtures' own changes
    cached_and_active(worker, alice_token.plaintext, orders_api)
    generation, invalidations, heard = worker.generation, worker.invalidations, worker.probes_heard

    sql("SELECT pg_notify('portal_token_cache', 'h:0123456789abcdef:1')")  # another worker's
    # Its own heartbeats, sent after that one: once they are heard, so was the other.
    assert eventually(lambda: worker.probes_heard >= heard + 2)

    assert (worker.generation, worker.invalidations) == (generation, invalidations)
    hits = worker.hits
    with django_assert_num_queries(0):
        assert active(worker, alice_token.plaintext, orders_api)
    assert worker.hits == hits + 1


def test_a_forked_worker_leaves_its_parents_heartbeat_connection_alone(worker):
    # A server that forks after the cache started (a preloading one): the child starts its own
    # listener, and must not end the connection its parent sends heartbeats through.
    assert eventually(lambda: worker._prober is not None)
    parents = worker._prober.info.backend_pid
    child = os.fork()
    if child == 0:
        try:
            worker.start()
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    heard = worker.probes_heard

    assert eventually(lambda: worker.probes_heard >= heard + 2)
    assert worker._prober.info.backend_pid == parents


def test_a_lookup_that_began_before_an_invalidation_stores_nothing():
    cache = trusted_cache()
    generation = cache.generation
    cache.apply("t:" + "a" * 64)  # heard while the lookup was at the database

    assert cache.put("b" * 64, "orders-api", ("stale",), generation) is False
    assert len(cache) == 0


# --- Proving that it hears ----------------------------------------------------------------


def test_it_is_trusted_until_the_deadline_after_the_heartbeat_it_heard_was_sent():
    now = [1000.0]
    cache = FactsCache(size=10, ttl=3600, probe_deadline=5, clock=lambda: now[0])
    assert not cache.trusted  # nothing heard yet
    assert cache.put("a" * 64, None, "facts", cache.generation) is False

    cache.heard(sent_at=now[0] - 1)  # a heartbeat that took a second to come back
    cache.put("a" * 64, None, "facts", cache.generation)
    now[0] += 4
    assert cache.get("a" * 64, None) == "facts"

    now[0] += 0.01  # five seconds and a bit since it was sent: a change may have gone unheard
    bypassed = cache.bypassed

    assert cache.get("a" * 64, None) is MISS
    assert cache.bypassed == bypassed + 1
    assert cache.put("b" * 64, None, "facts", cache.generation) is False


def test_a_heartbeat_heard_after_trust_lapsed_starts_from_an_empty_cache():
    now = [1000.0]
    cache = FactsCache(size=10, ttl=3600, probe_deadline=5, clock=lambda: now[0])
    cache.heard(now[0])
    cache.put("a" * 64, None, "facts", cache.generation)
    now[0] += 6
    generation = cache.generation  # a lookup that began while nothing was trusted

    cache.heard(now[0])

    assert cache.trusted
    assert len(cache) == 0
    assert cache.get("a" * 64, None) is MISS
    assert cache.put("a" * 64, None, "stale", generation) is False


def test_heartbeats_of_other_workers_neither_clear_nor_extend_anything():
    now = [1000.0]
    cache = FactsCache(size=10, ttl=3600, probe_deadline=5, clock=lambda: now[0])
    cache.heard(now[0])
    cache.put("a" * 64, None, "facts", cache.generation)
    generation, invalidations = cache.generation, cache.invalidations

    cache.apply("h:0123456789abcdef:42")

    assert (cache.generation, cache.invalidations) == (generation, invalidations)
    assert cache.get("a" * 64, None) == "facts"
    now[0] += 5.01
    assert not cache.trusted


# --- Bounds --------------------------------------------------------------------------------


def test_the_least_recently_used_entry_goes_first():
    cache = trusted_cache(size=3)
    for name in "abc":
        cache.put(name * 64, None, name, cache.generation)
    cache.put("a" * 64, ("orders-api", "orders-api"), "a for orders", cache.generation)
    assert cache.get("b" * 64, None) == "b"  # b is used again: c is now the oldest

    cache.put("d" * 64, None, "d", cache.generation)

    assert len(cache) == 3
    assert cache.get("c" * 64, None) is MISS
    assert cache.get("a" * 64, ("orders-api", "orders-api")) == "a for orders"
    assert [cache.get(name * 64, None) for name in "abd"] == [MISS, "b", "d"]


def test_fifty_thousand_callers_of_one_token_stay_within_the_size():
    cache = trusted_cache(size=1000)
    token_hash = "a" * 64
    callers = [(secrets.token_hex(8),) * 2 for _ in range(50_000)]

    for caller in callers:
        cache.put(token_hash, caller, (), cache.generation)

    assert len(cache) == 1000 == cache.stats()["entries"]
    assert cache.get(token_hash, callers[0]) is MISS  # the oldest went first
    assert cache.get(token_hash, callers[-1]) == ()
    cache.drop(token_hash)
    assert len(cache) == 0


def test_fifty_thousand_random_callers_add_nothing_to_the_cache(
    transactional_db, alice_token, orders_api
):
    # One real token, sent by callers that are no resource server (each answered 401): none of
    # it is kept, so neither memory nor the entries of real callers are touched. The entry lives
    # for an hour: the loop takes seconds, and on a loaded machine more than the default minute.
    cache = trusted_cache(size=100, ttl=3600)
    assert active(cache, alice_token.plaintext, orders_api)
    callers = [secrets.token_hex(8) for _ in range(50_000)]

    for client_id in callers:
        with pytest.raises(InvalidClient):
            check_for_resource_server(
                alice_token.plaintext, client_id=client_id, client_secret="guess", cache=cache
            )

    assert len(cache) == 1 <= cache.size
    assert cache.get(hash_token(alice_token.plaintext), (callers[0],) * 2) is MISS
    hits = cache.hits
    assert active(cache, alice_token.plaintext, orders_api)
    assert cache.hits == hits + 1


def test_a_wrong_secret_is_not_remembered(transactional_db, alice_token, orders_api):
    cache = trusted_cache()

    for _ in range(3):
        with pytest.raises(InvalidClient):
            check_for_resource_server(
                alice_token.plaintext,
                client_id=orders_api.client_id,
                client_secret="not its secret",
                cache=cache,
            )

    assert (len(cache), cache.hits) == (0, 0)


def test_an_expired_entry_is_dropped_when_read():
    now = [1000.0]
    cache = trusted_cache(ttl=5, clock=lambda: now[0])
    cache.put("a" * 64, None, "facts", cache.generation)
    now[0] += 4.9
    assert cache.get("a" * 64, None) == "facts"

    now[0] += 0.2

    assert cache.get("a" * 64, None) is MISS
    assert len(cache) == 0


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

"""Named personas and the world they live in. Tests read like stories about these people."""

import importlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, connections

from accounts.models import User
from tests.helpers import PASSWORD, RegisteredServer, register_server

# Single sign-on (issue 22): the test OpenID provider and the portal configured for it.
from tests.oidc.provider import oidc_provider, sso  # noqa: F401
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.domain.lifecycle import IssuedToken
from trustedapps.models import Scope, TokenPolicy, TrustedApplication

# The scopes that a data migration adds to every instance.
DEFAULT_SCOPES = importlib.import_module(
    "trustedapps.migrations.0002_default_scopes"
).DEFAULT_SCOPES


def _add_default_scopes() -> None:
    for name, description in DEFAULT_SCOPES.items():
        Scope.objects.get_or_create(name=name, defaults={"description": description})


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker) -> None:
    # A test database kept from an earlier run (--reuse-db) may have been emptied by its last
    # transactional test: give it back what its migrations made. pytest-django's own fixture,
    # extended, so this runs only when some test uses the database (a session of tests that do
    # not has no test database, and must not touch the project's own).
    with django_db_blocker.unblock():
        _add_default_scopes()


@pytest.fixture(autouse=True)
def keep_default_scopes(request, django_db_blocker):
    """Put back the scopes a migration made after a test that emptied every table.

    Transactional tests (live server, threads) end with a flush; without this, later tests, and
    the next run over a reused test database (`--reuse-db`), would find no `read` scope.
    """
    yield
    marker = request.node.get_closest_marker("django_db")
    flushed = {"transactional_db", "live_server"} & set(request.fixturenames) or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if flushed:
        with django_db_blocker.unblock():
            _add_default_scopes()


@pytest.fixture(autouse=True)
def cheap_password_hashing(settings) -> None:
    # Production Argon2 costs ~0.1 s of CPU a hash and nearly every test makes a persona.
    settings.PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def no_statement_timeouts(settings) -> None:
    # The test's own database connection serves the test client's requests and then flushes the
    # tables between tests: a web request's timeout left on it would cut that flush short under
    # load. tests/common/test_statement_timeout.py turns them on; the production server test
    # runs with the real defaults.
    settings.DATABASE_STATEMENT_TIMEOUT = 0
    settings.DATABASE_VALIDATION_STATEMENT_TIMEOUT = 0


@pytest.fixture
def behind_nginx(settings) -> None:
    """One proxy on this machine appends the caller's address (docs/production.env)."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = ["127.0.0.1/32", "::1/128"]


@pytest.fixture
def read_scope(db) -> Scope:
    # A data migration adds it; get_or_create because live-server tests flush the tables.
    return Scope.objects.get_or_create(name="read")[0]


@pytest.fixture
def update_scope(db) -> Scope:
    return Scope.objects.get_or_create(name="update")[0]


@pytest.fixture
def alice(db) -> User:
    """An ordinary person who issues personal tokens."""
    return User.objects.create_user("alice", "alice@example.com", PASSWORD, first_name="Alice")


@pytest.fixture
def bob(db) -> User:
    """Another person: must never see or touch alice's tokens."""
    return User.objects.create_user("bob", "bob@example.com", PASSWORD, first_name="Bob")


@pytest.fixture
def admin_user(db) -> User:
    """An instance administrator (superuser)."""
    return User.objects.create_superuser("admin", "admin@example.com", PASSWORD)


@pytest.fixture
def carol(db) -> User:
    """Staff with only the dedicated permission: an instance admin who is not a superuser."""
    carol = User.objects.create_user("carol", "carol@example.com", PASSWORD, is_staff=True)
    carol.user_permissions.add(Permission.objects.get(codename="issue_service_tokens"))
    return User.objects.get(pk=carol.pk)  # fresh, without a stale permission cache


@pytest.fixture
def sync_app(read_scope, update_scope) -> TrustedApplication:
    """Open to every signed-in user, with a system user for service tokens."""
    app = TrustedApplication.objects.create(
        application_uri="com.example/sync",
        name="Sync",
        token_policy=TokenPolicy.AUTHENTICATED_USERS,
        has_system_user=True,
    )
    app.allowed_scopes.set([read_scope, update_scope])
    return app


@pytest.fixture
def reports_app(read_scope) -> TrustedApplication:
    """Only administrators may issue tokens for it; at most 30 days."""
    app = TrustedApplication.objects.create(
        application_uri="com.example/reports",
        name="Reports",
        token_policy=TokenPolicy.ADMINISTRATORS_ONLY,
        has_system_user=True,
        max_token_lifetime_days=30,
    )
    app.allowed_scopes.set([read_scope])
    return app


@pytest.fixture
def closed_app(read_scope) -> TrustedApplication:
    """Policy 'none': no tokens at all."""
    app = TrustedApplication.objects.create(
        application_uri="com.example/closed", name="Closed", token_policy=TokenPolicy.NONE
    )
    app.allowed_scopes.set([read_scope])
    return app


@pytest.fixture
def orders_api(read_scope, update_scope) -> RegisteredServer:
    """A resource server that owns both scopes."""
    return register_server("orders-api", [read_scope, update_scope])


@pytest.fixture
def search_api(read_scope) -> RegisteredServer:
    """A resource server that owns only `read`."""
    return register_server("search-api", [read_scope])


@pytest.fixture
def in_30_days():
    return expiry_in_days(30)


@pytest.fixture
def alice_token(alice, sync_app, in_30_days) -> IssuedToken:
    """Alice's personal token for Sync, with both scopes."""
    return lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=in_30_days, description="laptop sync"
    )


@pytest.fixture
def sync_service_token(admin_user, sync_app, in_30_days) -> IssuedToken:
    """A service token of Sync, issued by the admin, acting as Sync's system user."""
    return lifecycle.issue_service(
        admin=admin_user, application=sync_app, expires_at=in_30_days, description="nightly job"
    )


# Threads that race: as many as the suite can afford next to other runs on one PostgreSQL server
# (make stress runs the same races with more, against a real server).
RACERS = 8


@pytest.fixture
def race(transactional_db) -> Callable[..., list[Any]]:
    """Run `attempt(i)` in n threads released together by a barrier; return their results.

    Transactional: each thread has its own connection and sees only what was committed, as
    concurrent requests of a real server do.
    """
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL: SQLite serialises every writer")

    def run(attempt: Callable[[int], Any], n: int = RACERS) -> list[Any]:
        barrier = threading.Barrier(n)
        results: list[Any] = [None] * n
        failures: list[BaseException] = []

        def racer(i: int) -> None:
            try:
                barrier.wait(timeout=30)
                results[i] = attempt(i)
            except BaseException as failure:  # re-raised in the test's own thread below
                failures.append(failure)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        if failures:
            raise failures[0]
        return results

    return run


@pytest.fixture(autouse=True)
def last_use_written_by_the_check(settings):
    # Most tests read last_used_at right after a check: the check writes it itself, as on SQLite.
    # tests/tokens/test_token_cache.py and test_last_use.py exercise the buffer.
    from tokens.validation import last_use

    settings.TOKEN_LAST_USED_FLUSH = 0
    last_use.forget()
    yield
    last_use.forget()


@pytest.fixture(autouse=True, scope="session")
def _stop_the_token_cache_listener():
    # A listener left connected would hold the test database open.
    yield
    from tokens.validation import last_use
    from tokens.validation.cache import stop_process_cache

    stop_process_cache()
    last_use.stop_flusher()


# A second worker's token cache, for the tests that a change reaches every worker
# (tests/tokens/test_token_cache.py, and SCIM's deprovisioning in tests/scim/).
@pytest.fixture
def listening(transactional_db):
    """PostgreSQL's LISTEN/NOTIFY, and committed data (notifications are sent on commit)."""
    if connection.vendor != "postgresql":
        pytest.skip("the token cache's listener needs PostgreSQL LISTEN/NOTIFY")


@pytest.fixture
def worker(listening):
    """A second worker's cache: its own listener connection, a TTL far beyond the test."""
    from tests.helpers import BOUND
    from tokens.validation.cache import FactsCache, database_conninfo, listener_conninfo

    cache = FactsCache(
        size=100,
        ttl=3600,
        probe_deadline=5,
        conninfo=listener_conninfo(),
        probe_conninfo=database_conninfo(),
    )
    cache.start()
    assert cache.wait_until_trusted(BOUND)
    yield cache
    cache.stop()


# --- Account security (issue 21) ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth keeps its rate limits (password reset, second factor) in Django's cache: each
    # test starts with none spent by the tests before it.
    from django.core.cache import cache

    cache.clear()

"""Whether a token is active, as every entry point (introspection, /api/tokens/self, commands) asks.

This is the hot path: resource servers ask on every API call. One SQL round trip fetches the facts
(the caller, the token, its user and application, and the scopes all three still share), then
`_is_active` applies the rule of the design in plain Python. The SQL is built once, not per call,
because building ORM queries costs more than running them here.
"""

from __future__ import annotations

import functools
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from tokens import last_use
from tokens.cache import MISS, FactsCache, process_cache
from tokens.format import hash_token, is_well_formed
from tokens.models import ReferenceToken, TokenKind
from trustedapps.models import (
    ResourceServer,
    Scope,
    TokenPolicy,
    TrustedApplication,
    hash_secret,
)

try:  # psycopg 3, the driver of pyproject.toml: prepared statements for the hot query
    from django.db.backends.postgresql.base import ServerBindingCursor

    class _PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            # Binary results skip parsing timestamps from text (a fifth of the Python cost).
            return super().execute(query, params, prepare=True, binary=True)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg records the statement only when it is not prepared; Django's query log
            # (and django_assert_num_queries) read it from there.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

except (ImportError, ImproperlyConfigured):  # pragma: no cover - psycopg 2, or no driver at all
    _PreparedCursor = None


class InvalidClient(Exception):
    """The caller is not an enabled resource server with that secret."""


@dataclass(frozen=True)
class ActiveToken:
    id: int
    kind: str
    user_id: int
    username: str
    application_uri: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


_TOKEN_COLUMNS = """
    t.id, t.kind, t.user_id, t.application_id, t.created_at, t.expires_at, t.revoked_at,
    t.last_used_at, u.username, u.is_active, u.is_superuser, u.system_application_id,
    a.application_uri, a.is_enabled, a.token_policy, a.has_system_user, s.name"""


@functools.cache
def _sql() -> dict[str, str]:
    tables = {
        "token": ReferenceToken._meta.db_table,
        "token_scopes": ReferenceToken.scopes.through._meta.db_table,
        "user": User._meta.db_table,
        "app": TrustedApplication._meta.db_table,
        "app_scopes": TrustedApplication.allowed_scopes.through._meta.db_table,
        "server": ResourceServer._meta.db_table,
        "server_scopes": ResourceServer.scopes.through._meta.db_table,
        "scope": Scope._meta.db_table,
    }
    # A token scope counts only while its application still allows it (and, for a resource
    # server, while that server owns it): one row per such scope, or one row with no scope.
    scope_join = """
        LEFT JOIN {token_scopes} ts ON ts.referencetoken_id = t.id
            AND EXISTS (SELECT 1 FROM {app_scopes} aps
                        WHERE aps.trustedapplication_id = t.application_id
                          AND aps.scope_id = ts.scope_id)
            {server_clause}
        LEFT JOIN {scope} s ON s.id = ts.scope_id"""
    server_clause = """AND EXISTS (SELECT 1 FROM {server_scopes} rss
                       WHERE rss.resourceserver_id = rs.id AND rss.scope_id = ts.scope_id)"""
    joins = """
        LEFT JOIN {user} u ON u.id = t.user_id
        LEFT JOIN {app} a ON a.id = t.application_id"""
    for_server = (
        "SELECT rs.id, rs.secret_hash, rs.is_enabled, "  # noqa: S608
        + _TOKEN_COLUMNS
        + " FROM {server} rs LEFT JOIN {token} t ON t.token_hash = %s"
        + joins
        + scope_join.replace("{server_clause}", server_clause)
        + " WHERE rs.client_id = %s"
    )
    for_holder = (
        "SELECT "  # noqa: S608
        + _TOKEN_COLUMNS
        + " FROM {token} t"
        + joins
        + scope_join.replace("{server_clause}", "")
        + " WHERE t.token_hash = %s"
    )
    # Only table names from the models' metadata are formatted in; values go as parameters.
    return {"server": for_server.format(**tables), "holder": for_holder.format(**tables)}


# Error reports show none of these functions' locals: they hold a token and a client secret.
@sensitive_variables()
def introspect(
    token: str,
    *,
    client_id: str,
    client_secret: str,
    client_ip: str | None = None,
    now: datetime | None = None,
    cache: FactsCache | None = None,
) -> ActiveToken | None:
    """The token as the resource server `client_id` may see it, or None when it is not active.

    Raises InvalidClient for a bad caller. A malformed token is inactive without any query: the
    answer is the same constant for every caller, so there is nothing to protect.
    """
    if not is_well_formed(token):
        return None
    token_hash = hash_token(token)
    rows, cached = _facts(token_hash, client_id, _sql()["server"], [token_hash, client_id], cache)
    if not rows:
        raise InvalidClient
    _, secret_hash, server_enabled = rows[0][:3]
    if not server_enabled or not _same_hash(secret_hash, hash_secret(client_secret)):
        raise InvalidClient
    return _active_token([row[3:] for row in rows], now, client_ip, cached)


@sensitive_variables()
def describe(
    token: str, *, now: datetime | None = None, cache: FactsCache | None = None
) -> ActiveToken | None:
    """The token as its holder may see it (scopes: those its application still allows)."""
    if not is_well_formed(token):
        return None
    token_hash = hash_token(token)
    rows, cached = _facts(token_hash, None, _sql()["holder"], [token_hash], cache)
    return _active_token(rows, now, None, cached) if rows else None


def _facts(
    token_hash: str, caller: str | None, sql: str, params: list, cache: FactsCache | None
) -> tuple[tuple[tuple, ...], bool]:
    """The rows of one lookup, from this process's cache when it may be trusted; and whether
    they came from the cache. `cache` is for tests that play a second worker.

    Inside a transaction the database may show this connection its own uncommitted writes,
    which no notification has announced: such checks neither read nor fill the cache.
    """
    if cache is None:
        cache = process_cache()
    if cache is None or connection.in_atomic_block:
        return tuple(_fetch(sql, params)), False
    found = cache.get(token_hash, caller)
    if found is not MISS:
        return found, True
    generation = cache.generation
    rows = tuple(_fetch(sql, params))
    cache.put(token_hash, caller, rows, generation)
    return rows, False


def _fetch(sql: str, params: list) -> list[tuple]:
    """Run one of the two lookups; on PostgreSQL as a prepared statement of this connection.

    Planning this seven-table join takes ~0.65 ms on PostgreSQL, executing it ~0.1 ms: a
    prepared statement is planned once per connection, which (with persistent connections) is
    once per worker. Django keeps prepared statements off by default for the sake of connection
    poolers; only this statement is prepared, and TOKEN_PREPARED_LOOKUP=0 turns it off (for
    PgBouncer older than 1.21 in transaction mode).
    """
    with connection.cursor() as cursor:
        if (
            _PreparedCursor is not None
            and connection.vendor == "postgresql"
            and getattr(settings, "TOKEN_PREPARED_LOOKUP", True)
        ):
            raw = connection.connection
            if raw.prepare_threshold is None:
                # None disables even an explicit prepare=True; a threshold nothing reaches keeps
                # every other (client-side binding) query unprepared, as Django has it.
                raw.prepare_threshold = sys.maxsize
            cursor.cursor.close()
            cursor.cursor = _PreparedCursor(raw)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _same_hash(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())


def _active_token(
    rows: list[tuple] | tuple[tuple, ...], now: datetime | None, client_ip: str | None, cached: bool
) -> ActiveToken | None:
    now = now or timezone.now()
    (
        token_id,
        kind,
        user_id,
        application_id,
        created_at,
        expires_at,
        revoked_at,
        last_used_at,
        username,
        user_active,
        user_superuser,
        user_system_application_id,
        application_uri,
        application_enabled,
        policy,
        has_system_user,
        _,
    ) = rows[0]
    if token_id is None:
        return None
    expires_at = _utc(expires_at)
    scopes = tuple(sorted(row[-1] for row in rows if row[-1] is not None))
    if (
        revoked_at is not None
        or (expires_at is not None and now >= expires_at)
        or not user_active
        or not application_enabled
        or not scopes
    ):
        return None
    if kind == TokenKind.SERVICE:
        allowed = (
            policy != TokenPolicy.NONE
            and has_system_user
            and user_system_application_id == application_id
        )
    else:
        allowed = user_system_application_id is None and (
            policy == TokenPolicy.AUTHENTICATED_USERS
            or (
                policy == TokenPolicy.ADMINISTRATORS_ONLY
                and (user_superuser or User.objects.holds_admin_permission(user_id))
            )
        )
    if not allowed:
        return None
    last_used_at = last_use.record(token_id, _utc(last_used_at), now, client_ip, cached=cached)
    return ActiveToken(
        id=token_id,
        kind=kind,
        user_id=user_id,
        username=username,
        application_uri=application_uri,
        scopes=scopes,
        issued_at=_utc(created_at),
        expires_at=expires_at,
        last_used_at=last_used_at,
    )


def _utc(value: datetime | str | None) -> datetime | None:
    # Raw SQL skips the ORM's converters: SQLite gives naive UTC datetimes (or text).
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value

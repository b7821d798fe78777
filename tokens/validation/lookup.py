"""The facts of tokens, read in one SQL statement: the one source of what the status rule reads.

The validation URL reads them by the token's hash, with the caller's resource servers in the same
round trip; /api/tokens/self by hash alone; the pages and the commands by the tokens' ids
(`ReferenceToken.facts`, and `with_facts()` for a page of them). So what a page says about a token
is what a resource server is told, and a new rule's data is one field of `TokenFacts` and one
column of `FACT_COLUMNS` below.

The statements are built once, from the models' metadata, not per call: building ORM queries costs
more than running them on the validation URL. On PostgreSQL they run as prepared statements.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sys
from datetime import UTC, datetime

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models.expressions import RawSQL
from django.db.models.sql import Query
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User, holds_admin_permission
from tokens.domain.status import PERSONAL, TokenFacts
from trustedapps.models import (
    InstanceTokenPolicy,
    ResourceServer,
    Scope,
    TokenPolicy,
    TrustedApplication,
)

_PreparedCursor: type | None
try:  # psycopg 3, the driver of pyproject.toml: prepared statements for the hot query
    # The stubs describe psycopg 2's backend, which has no server-binding cursor.
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class _PreparedCursor(ServerBindingCursor):  # type: ignore[no-redef]
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


# The caller's row. Resource URIs as text: raw SQL skips the ORM's JSON decoding, and the cast
# reads the same on SQLite (text) and PostgreSQL (jsonb).
SERVER_COLUMNS = (
    "rs.id, rs.client_id, rs.secret_hash, rs.is_enabled, CAST(rs.resource_uris AS TEXT)"
)
SERVER_WIDTH = 5

# One SQL expression per field of TokenFacts, in the record's order: the column list is generated
# from it, and the row is read back by the same names. `t` is the token, `u` its user, `a` its
# application.
FACT_COLUMNS: dict[str, str] = {
    "token_id": "t.id",
    "kind": "t.kind",
    "user_id": "t.user_id",
    "application_id": "t.application_id",
    "created_at": "t.created_at",
    "expires_at": "t.expires_at",
    "revoked_at": "t.revoked_at",
    "last_used_at": "t.last_used_at",
    "username": "u.username",
    "user_is_active": "u.is_active",
    "user_is_superuser": "u.is_superuser",
    # Asked only for a person's token on an administrators-only application, so the common
    # check pays nothing for it. The condition is the accounts app's own, compiled.
    "user_holds_admin_permission": """CASE WHEN t.kind = '{personal}'
            AND a.token_policy = '{admins_only}' AND NOT u.is_superuser
        THEN {holds_admin_permission} ELSE FALSE END""",
    "user_system_application_id": "u.system_application_id",
    "application_uri": "a.application_uri",
    "application_enabled": "a.is_enabled",
    "token_policy": "a.token_policy",
    "application_has_system_user": "a.has_system_user",
    "chain_started_at": "t.chain_started_at",
}
# The lifetime rules (issue 23) for the token's own kind: the instance's row (`ip`, absent until
# an admin saves one) and the application's columns.
for _source, _alias in (("instance", "ip"), ("app", "a")):
    for _rule in ("lifetime_mode", "lifetime_days", "expiry_mode", "chain_mode", "chain_days"):
        FACT_COLUMNS[f"{_source}_{_rule}"] = (
            f"CASE WHEN t.kind = '{{personal}}' THEN {_alias}.personal_{_rule}"
            f" ELSE {_alias}.service_{_rule} END"
        )
# Address ranges (issue 23).
FACT_COLUMNS["allowed_ranges"] = "t.allowed_ranges"
FACT_COLUMNS["application_requires_ranges"] = "a.service_tokens_need_ranges"
# The fields filled from one column each; the scopes come from the rows' last columns.
COLUMN_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(TokenFacts) if f.name not in ("scopes", "server_scopes")
)
if tuple(FACT_COLUMNS) != COLUMN_FIELDS:  # pragma: no cover - a programming error, at import
    raise ImproperlyConfigured("FACT_COLUMNS must list TokenFacts' column fields in order.")
_BOOLEAN_FIELDS = frozenset(
    f.name for f in dataclasses.fields(TokenFacts) if f.type in ("bool", bool)
)
_DATETIME_FIELDS = ("created_at", "expires_at", "revoked_at", "last_used_at", "chain_started_at")
# SQLite allows 999 parameters in a statement (older versions): pages ask for fewer ids.
_IDS_AT_ONCE = 500


@functools.cache
def sql() -> dict[str, str]:
    """The statements: "server" (a token as the caller's servers see it), "caller" (the caller
    alone), "holder" (a token by hash) and "ids" (tokens by id, to be followed by the list)."""
    # This app's models through the registry: tokens.models reads its facts from this module.
    token = apps.get_model("tokens", "ReferenceToken")
    tables = {
        "token": token._meta.db_table,
        "token_scopes": token.scopes.through._meta.db_table,
        "user": User._meta.db_table,
        "app": TrustedApplication._meta.db_table,
        "app_scopes": TrustedApplication.allowed_scopes.through._meta.db_table,
        "server": ResourceServer._meta.db_table,
        "server_scopes": ResourceServer.scopes.through._meta.db_table,
        "scope": Scope._meta.db_table,
        "policy": InstanceTokenPolicy._meta.db_table,
    }
    constants = {
        "personal": PERSONAL,
        "admins_only": TokenPolicy.ADMINISTRATORS_ONLY.value,
        "holds_admin_permission": _compiled_for_user("u.id"),
    }
    columns = ", ".join(FACT_COLUMNS[name] for name in COLUMN_FIELDS)
    # One row per token scope that its application still allows (or one row with no scope),
    # and, for a resource server, whether that server owns the scope.
    joins = """
        LEFT JOIN {user} u ON u.id = t.user_id
        LEFT JOIN {app} a ON a.id = t.application_id
        LEFT JOIN {policy} ip ON ip.id = 1
        LEFT JOIN {token_scopes} ts ON ts.referencetoken_id = t.id
            AND EXISTS (SELECT 1 FROM {app_scopes} aps
                        WHERE aps.trustedapplication_id = t.application_id
                          AND aps.scope_id = ts.scope_id)
        LEFT JOIN {scope} s ON s.id = ts.scope_id"""
    server_owns = """EXISTS (SELECT 1 FROM {server_scopes} rss
                     WHERE rss.resourceserver_id = rs.id AND rss.scope_id = ts.scope_id)"""
    for_server = (
        "SELECT "  # noqa: S608
        + SERVER_COLUMNS
        + ", "
        + columns
        + ", s.name, "
        + server_owns
        + " FROM {server} rs LEFT JOIN {token} t ON t.token_hash = %s"
        + joins
        + " WHERE rs.client_id IN (%s, %s)"
    )
    for_caller = (
        "SELECT "  # noqa: S608
        + SERVER_COLUMNS
        + " FROM {server} rs WHERE rs.client_id IN (%s, %s)"
    )
    token_facts = "SELECT " + columns + ", s.name FROM {token} t" + joins  # noqa: S608
    # Only table names from the models' metadata and the constants above are formatted in;
    # values go as parameters.
    return {
        "server": for_server.format(**tables, **constants),
        "caller": for_caller.format(**tables, **constants),
        "holder": (token_facts + " WHERE t.token_hash = %s").format(**tables, **constants),
        "ids": (token_facts + " WHERE t.id IN ").format(**tables, **constants),
    }


def _compiled_for_user(user_column: str) -> str:
    """accounts' condition "holds the instance-admin permission" as SQL about `user_column`, so
    that this statement can never disagree with the ORM (or Django's `has_perm`)."""
    query = Query(User)
    user = RawSQL(user_column, ())  # noqa: S611 - an alias of this module's own statement
    condition = holds_admin_permission(user).resolve_expression(query)
    compiled, params = query.get_compiler(connection=connection).compile(condition)
    return compiled % tuple(_literal(value) for value in params)


def _literal(value: object) -> str:
    # Only the condition's own constants get here: a number, an app label, a codename.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.]+", value):
        return f"'{value}'"
    raise ImproperlyConfigured(f"Cannot write {value!r} into the token lookup's SQL.")


def fetch(statement: str, params: list) -> list[tuple]:
    """Run one of the lookups; on PostgreSQL as a prepared statement of this connection.

    Planning this seven-table join takes ~0.65 ms on PostgreSQL, executing it ~0.1 ms: a
    prepared statement is planned once per connection, which (with persistent connections) is
    once per worker. Django keeps prepared statements off by default for the sake of connection
    poolers; only these statements are prepared, and TOKEN_PREPARED_LOOKUP=0 turns it off (for
    PgBouncer older than 1.21 in transaction mode).
    """
    with connection.cursor() as cursor:
        if (
            _PreparedCursor is not None
            and connection.vendor == "postgresql"
            and settings.TOKEN_PREPARED_LOOKUP
        ):
            raw = connection.connection
            if raw.prepare_threshold is None:
                # None disables even an explicit prepare=True; a threshold nothing reaches keeps
                # every other (client-side binding) query unprepared, as Django has it.
                raw.prepare_threshold = sys.maxsize
            cursor.cursor.close()
            cursor.cursor = _PreparedCursor(raw)
        cursor.execute(statement, params)
        return cursor.fetchall()


def facts_from_rows(rows: list[tuple], *, for_server: bool) -> TokenFacts | None:
    """The facts of the token in `rows` (one row per scope), or None when there is no token."""
    if not rows or rows[0][0] is None:
        return None
    values = dict(zip(COLUMN_FIELDS, rows[0], strict=False))
    for name in _DATETIME_FIELDS:
        values[name] = _utc(values[name])
    for name in _BOOLEAN_FIELDS:
        values[name] = bool(values[name])  # SQLite answers 0 and 1
    scope_at = len(COLUMN_FIELDS)
    scopes = tuple(row[scope_at] for row in rows if row[scope_at] is not None)
    server_scopes = None
    if for_server:
        server_scopes = tuple(
            row[scope_at] for row in rows if row[scope_at] is not None and row[scope_at + 1]
        )
    return TokenFacts(**values, scopes=scopes, server_scopes=server_scopes)


def facts_by_id(ids: list[int]) -> dict[int, TokenFacts]:
    """The facts of these tokens, by id: one statement for a page of them. A token gone
    meanwhile is simply missing."""
    rows_of: dict[int, list[tuple]] = {}
    for start in range(0, len(ids), _IDS_AT_ONCE):
        chunk = ids[start : start + _IDS_AT_ONCE]
        statement = sql()["ids"] + "(" + ", ".join(["%s"] * len(chunk)) + ")"
        for row in fetch(statement, chunk):
            rows_of.setdefault(row[0], []).append(row)
    found = {}
    for token_id, rows in rows_of.items():
        facts = facts_from_rows(rows, for_server=False)
        if facts is not None:
            found[token_id] = facts
    return found


def _utc(value: datetime | str | None) -> datetime | None:
    # Raw SQL skips the ORM's converters: SQLite gives naive UTC datetimes (or text).
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value

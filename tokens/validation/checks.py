"""Whether a token is active, as the validation URL and /api/tokens/self ask.

This is the hot path: resource servers ask on every API call. One SQL round trip
(`tokens.validation.lookup`) fetches the facts (the caller, the token, its user and application,
and the scopes all three still share) into a `TokenFacts` record, then
`tokens.domain.status.evaluate` applies the rule of the design.

On PostgreSQL the facts are kept in a per-process cache (`tokens.validation.cache`) that the
database keeps true; the rule is applied to them on every check all the same. The use of a token
is recorded by `tokens.validation.last_use`, off the request path where TOKEN_LAST_USED_FLUSH is
set.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import unquote

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from common.metrics import VALIDATION_WOULD_REFUSE
from tokens.domain.status import Inactive, TokenFacts, evaluate
from tokens.format import hash_token, is_well_formed
from tokens.validation import last_use, refusals
from tokens.validation.cache import MISS, FactsCache, process_cache
from tokens.validation.lookup import SERVER_WIDTH, facts_from_rows, fetch, sql
from trustedapps.models import (
    CLIENT_ID_MAX_LENGTH,
    VISIBLE_ASCII,
    hash_secret,
)


class InvalidClient(Exception):
    """The caller is not an enabled resource server with that secret."""

    def __init__(self, registered: bool = False) -> None:
        super().__init__()
        # Whether the client_id names a registered server (only then is it safe to log).
        self.registered = registered


class ActiveToken(NamedTuple):
    """An active token as one caller may see it. Immutable; a named tuple rather than a frozen
    dataclass because one is built on every check, and a frozen dataclass's __init__ costs a
    call per field (bench/instructions.py)."""

    id: int
    kind: str
    user_id: int
    username: str
    application_uri: str
    scopes: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    # For a resource server: its client_id, or (client_id, resource URI, ...) (RFC 8707).
    audience: str | tuple[str, ...] | None = None
    # Answers already built from the same facts for the same caller (`remembered`).
    memo: dict[object, Any] | None = None

    def remembered(self, what: str, build: Callable[[ActiveToken], Any]) -> Any:
        """`build(self)`, kept with the cached facts this token was judged from.

        The rule still runs on every check; what is kept is only what the answer's bytes are
        made of: facts that never change while cached (a change in the database replaces them,
        and drops the entry) and the scopes this check found (part of the key). A cached
        active check then skips building and encoding the same answer again, about a sixth of
        its cost over the ceiling (bench/instructions.py).
        """
        if self.memo is None:
            return build(self)
        key = (what, self.scopes)
        found = self.memo.get(key)
        if found is None:
            # Two threads may both build it: the same value, and the last one stays.
            found = self.memo[key] = build(self)
        return found

    def introspection_json(self) -> str:
        """`introspection_answer()` as the JSON the validation URL sends."""
        return self.remembered("introspection", _introspection_json)

    def introspection_answer(self) -> dict[str, object]:
        """The RFC 7662 answer for the resource server the token was introspected for."""
        answer: dict[str, object] = {
            "active": True,
            "token_kind": self.kind,
            "scope": " ".join(self.scopes),
            "client_id": self.application_uri,
            "sub": str(self.user_id),
            "username": self.username,
            "iat": int(self.issued_at.timestamp()),
            "jti": str(self.id),
            "aud": list(self.audience) if isinstance(self.audience, tuple) else self.audience,
        }
        if self.expires_at is not None:
            answer["exp"] = int(self.expires_at.timestamp())
        return answer

    def holder_answer(self) -> dict[str, object]:
        """What /api/tokens/self tells the token's holder."""
        return {
            "active": True,
            "token_kind": self.kind,
            "application": self.application_uri,
            "scopes": list(self.scopes),
            "user": {"id": str(self.user_id), "username": self.username},
            "created_at": iso_datetime(self.issued_at),
            "expires_at": iso_datetime(self.expires_at),
            "last_used_at": iso_datetime(self.last_used_at),
            "jti": str(self.id),
        }


def _introspection_json(active: ActiveToken) -> str:
    # json.dumps straight: JsonResponse's encoder class is built per call, for types never here.
    return json.dumps(active.introspection_answer())


def iso_datetime(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as the public endpoints answer dates."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# Error reports show none of these functions' locals: they hold a token and a client secret.
@sensitive_variables()
def check_for_resource_server(
    token: str,
    *,
    client_id: str,
    client_secret: str,
    client_ip: str | None = None,
    now: datetime | None = None,
    cache: FactsCache | None = None,
) -> ActiveToken | None:
    """The token as the resource server `client_id` may see it, or None when it is not active.

    Raises InvalidClient for a bad caller, always first: a resource server with a wrong secret is
    told so whatever token it sends. A malformed token costs no token lookup, only the caller's.
    """
    if not is_well_formed(token):
        authenticate_caller(client_id, client_secret, cache=cache)
        return None
    client_ids, secret_hashes = _caller(client_id, client_secret)
    servers, cached = _remembered(
        hash_token(token), client_ids, cache, _server_facts, proven_by=secret_hashes
    )
    server = _authenticated(servers, secret_hashes)
    return _active_token(
        server.facts, now, client_ip, cached, audience=server.audience, memo=server.memo
    )


@sensitive_variables()
def authenticate_caller(
    client_id: str, client_secret: str, *, cache: FactsCache | None = None
) -> None:
    """Raise InvalidClient unless this is an enabled resource server's id and secret."""
    client_ids, secret_hashes = _caller(client_id, client_secret)
    servers = _remembered(NO_TOKEN, client_ids, cache, _caller_rows, proven_by=secret_hashes)[0]
    _authenticated(servers, secret_hashes)


# RFC 6749 appendix A: client ids and secrets are VSCHAR. Anything else (a NUL, a non-ASCII
# letter, a lone surrogate from JSON) names no resource server: refused before it reaches the
# database, which may reject such a string with an error that is no outage.
_CLIENT_ID = re.compile(rf"{VISIBLE_ASCII}{{1,{CLIENT_ID_MAX_LENGTH}}}")
_CLIENT_SECRET = re.compile(r"[\x20-\x7e]+")

# The cache key of a caller-only lookup (a malformed token): no token hash looks like it.
NO_TOKEN = ""


def _caller(client_id: str, client_secret: str) -> tuple[tuple[str, str], set[str]]:
    """The client ids the caller may mean (always two, for one statement) and its secret's hashes.

    RFC 6749 section 2.3.1 has clients form-encode the id and secret before HTTP Basic; many
    (django-oauth-toolkit, Authlib, curl) send them raw. Both readings are tried: a reading that
    is not what was meant names another server, or none, and never matches that one's secret.
    """
    if (
        isinstance(client_id, str)
        and isinstance(client_secret, str)
        and "%" not in client_id
        and "%" not in client_secret
    ):
        # The usual caller: one reading of each (the loop below, without its lists; hot path).
        if not (_CLIENT_ID.fullmatch(client_id) and _CLIENT_SECRET.fullmatch(client_secret)):
            raise InvalidClient
        return (client_id, client_id), {hash_secret(client_secret)}
    client_ids = [c for c in _readings(client_id) if _CLIENT_ID.fullmatch(c)]
    secrets_ = [s for s in _readings(client_secret) if _CLIENT_SECRET.fullmatch(s)]
    if not client_ids or not secrets_:
        raise InvalidClient
    return (client_ids[0], client_ids[-1]), {hash_secret(s) for s in secrets_}


def _readings(value: object) -> list[str]:
    if not isinstance(value, str):
        return []
    if "%" not in value:
        return [value]
    try:
        decoded = unquote(value, errors="strict")
    except UnicodeDecodeError:
        return [value]
    return [value, decoded] if decoded != value else [value]


@dataclass(frozen=True)
class _Server:
    """A resource server the caller may be, and (when a token was asked) the token's facts as
    that server may see them. Cached as they are: the secret is compared on every check."""

    secret_hash: str = field(repr=False)
    enabled: bool
    audience: str | tuple[str, ...]
    facts: TokenFacts | None = None
    # ActiveToken.remembered's answers, built from these facts: they live and go with them.
    memo: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)


def _authenticated(servers: tuple[_Server, ...], secret_hashes: set[str]) -> _Server:
    """The enabled server whose secret this is; else InvalidClient."""
    server = _proven(servers, secret_hashes)
    if server is None:
        raise InvalidClient(registered=bool(servers))
    return server


def _proven(servers: tuple[_Server, ...], secret_hashes: set[str]) -> _Server | None:
    for server in servers:
        if server.enabled and any(_same_hash(server.secret_hash, h) for h in secret_hashes):
            return server
    return None


def _servers(rows: list[tuple], *, with_facts: bool) -> tuple[_Server, ...]:
    by_server: dict[object, list[tuple]] = {}
    for row in rows:
        by_server.setdefault(row[0], []).append(row)
    return tuple(
        _Server(
            secret_hash=server_rows[0][2],
            enabled=bool(server_rows[0][3]),
            audience=_audience(server_rows[0][1], server_rows[0][4]),
            facts=facts_from_rows([r[SERVER_WIDTH:] for r in server_rows], for_server=True)
            if with_facts
            else None,
        )
        for server_rows in by_server.values()
    )


def _audience(client_id: str, resource_uris: str | None) -> str | tuple[str, ...]:
    uris = json.loads(resource_uris) if resource_uris and resource_uris != "[]" else []
    return (client_id, *uris) if uris else client_id


@sensitive_variables()
def check_for_holder(
    token: str,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
    cache: FactsCache | None = None,
) -> ActiveToken | None:
    """The token as its holder may see it (scopes: those its application still allows)."""
    if not is_well_formed(token):
        return None
    facts, cached = _remembered(hash_token(token), None, cache, _holder_facts)
    return _active_token(facts, now, client_ip, cached)


def _server_facts(token_hash: str, client_ids: tuple[str, str]) -> tuple[_Server, ...]:
    """The servers the caller may be, each with the token's facts as it may see them."""
    return _servers(fetch(sql()["server"], [token_hash, *client_ids]), with_facts=True)


def _caller_rows(_: str, client_ids: tuple[str, str]) -> tuple[_Server, ...]:
    return _servers(fetch(sql()["caller"], list(client_ids)), with_facts=False)


def _holder_facts(token_hash: str, _: None) -> TokenFacts | None:
    return facts_from_rows(fetch(sql()["holder"], [token_hash]), for_server=False)


def _remembered(
    token_hash: str,
    caller: tuple[str, str] | None,
    cache: FactsCache | None,
    lookup: Callable[[str, Any], Any],
    *,
    proven_by: set[str] | None = None,
) -> tuple[Any, bool]:
    """What `lookup` finds for (token, caller), from this process's cache of facts when it may
    be trusted; and whether it came from there. `cache` is for tests that play a second worker.

    Only facts are cached: the rule (expiry against the clock, the caller's scopes, the secret)
    is applied to them on every check. Inside a transaction the database may show this
    connection its own uncommitted writes, which no notification has announced: such checks
    neither read nor fill the cache.

    A resource server's lookup is kept only when the caller proved who it is (`proven_by`: its
    secret's hashes): an unknown client_id, a wrong secret or a disabled server is answered
    401 from the database every time, so nothing a stranger sends takes room in the cache.
    """
    if cache is None:
        cache = process_cache()
    # connections[...] is what django.db.connection looks up, without the proxy's extra call.
    if cache is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return lookup(token_hash, caller), False
    found = cache.get(token_hash, caller)
    if found is not MISS:
        return found, True
    generation = cache.generation
    found = lookup(token_hash, caller)
    if proven_by is None or _proven(found, proven_by) is not None:
        cache.put(token_hash, caller, found, generation)
    return found, False


def _same_hash(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())


def _active_token(
    facts: TokenFacts | None,
    now: datetime | None,
    client_ip: str | None,
    cached: bool,
    *,
    audience: str | tuple[str, ...] | None = None,
    memo: dict[object, Any] | None = None,
) -> ActiveToken | None:
    if facts is None:
        return None
    now = now or timezone.now()
    state = evaluate(facts, now, client_ip)
    if not state.is_active:
        if state.reason == Inactive.ADDRESS:
            refusals.record(facts.token_id, _valid_ip(client_ip), now)
        return None
    if state.would_refuse:
        VALIDATION_WOULD_REFUSE.labels(kind=facts.kind).inc()
    last_used_at = last_use.record(
        facts.token_id, facts.last_used_at, now, client_ip, cached=cached
    )
    return ActiveToken(
        id=facts.token_id,
        kind=facts.kind,
        user_id=facts.user_id,
        username=facts.username,
        application_uri=facts.application_uri,
        scopes=state.scopes,
        issued_at=facts.created_at,
        expires_at=facts.expires_at,
        last_used_at=last_used_at,
        audience=audience,
        memo=memo,
    )


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None

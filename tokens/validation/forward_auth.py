"""`/connect/forward-auth`: the check a gateway (nginx, Caddy, Traefik, Envoy) makes before it
passes a request on to the API behind it.

The gateway sends the original request's headers (never its body, which is not read here, so
any method is answered alike) plus a credential of its own, `X-Gateway-Authorization: Basic
<client_id:secret>` of a registered resource server. The token in `Authorization: Bearer` (or
`X-Api-Key` / `Api-Key`) is then checked exactly as the validation URL checks it for that
resource server (`check_for_resource_server`: the same cache, the same rule, the same last-use
recording), and the answer is:

- `200` with the identity headers, every one always present (empty when the token has no such
  value), so a gateway that copies them replaces whatever a client sent under those names;
- `401` with `WWW-Authenticate: Bearer ... error="invalid_token"` (no `error` when no token was
  sent, RFC 6750 section 3.1), which the gateways pass to the client;
- `403` with `error="insufficient_scope"` when the route asks for scopes (`?scope=a b` on this
  URL, or the `X-Required-Scope` header; all of them are required) that the token lacks;
- `403` without any Bearer challenge when the gateway's own credential is missing or wrong:
  that is the operator's mistake, and the client must not be asked for another token over it;
- `503` with Retry-After when the database is out of reach: never a 200.

Every answer is `Cache-Control: no-store`. A gateway's response cache (nginx `proxy_cache` on the
auth location, Traefik and Envoy plugins) keys on this URL by default, not on the client's
token: a cached 200 would let every client through with the first client's identity, and a
cached 200 outlives a revocation. The per-process cache of facts behind the check already makes
a repeated check cheap, and it is kept true by the database.
"""

from __future__ import annotations

import binascii
import logging
import re
from time import perf_counter

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import ResponseHeaders
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from common.http import no_store, remote_address
from common.logs import security_event
from common.metrics import FORWARD_AUTH_REQUESTS, FORWARD_AUTH_SECONDS
from common.middleware import lean, outage_response, validation_url
from tokens.validation.checks import (
    ActiveToken,
    InvalidClient,
    authenticate_caller,
    check_for_resource_server,
)
from tokens.validation.protocol import REALM, Credentials

# The headers of an allowed request, in the order the docs list them. The gateway configurations
# in docs/gateways/ copy exactly these upstream and strip them from what the client sent.
SUBJECT = "X-Auth-Subject"
USERNAME = "X-Auth-Username"
TOKEN_KIND = "X-Auth-Token-Kind"
TOKEN_ID = "X-Auth-Token-Id"
SCOPES = "X-Auth-Scopes"
CLIENT_ID = "X-Auth-Client-Id"
IDENTITY_HEADERS = (SUBJECT, USERNAME, TOKEN_KIND, TOKEN_ID, SCOPES, CLIENT_ID)

# WSGI names of the headers read here (META, not request.headers: building that mapping reads
# every header, on the hot path).
_GATEWAY = "HTTP_X_GATEWAY_AUTHORIZATION"
_REQUIRED_SCOPE = "HTTP_X_REQUIRED_SCOPE"
_TOKEN_HEADERS = ("HTTP_X_API_KEY", "HTTP_API_KEY")

# One counter per outcome, bound once: `labels()` takes a lock and a lookup on every call.
_OUTCOMES = {
    outcome: FORWARD_AUTH_REQUESTS.labels(outcome=outcome)
    for outcome in (
        "allowed",
        "invalid_token",
        "invalid_request",
        "insufficient_scope",
        "invalid_gateway",
        "error",
    )
}


class _GatewayRefused(Exception):
    """The gateway's own credential is missing or unreadable (before any lookup)."""


class _TwoTokens(Exception):
    pass


def _gateway(request: HttpRequest) -> Credentials:
    """`client_id:secret` from `X-Gateway-Authorization: Basic`, split at the last colon as the
    validation URL splits it (client ids may hold `:`, generated secrets never do)."""
    scheme, _, encoded = request.META.get(_GATEWAY, "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise _GatewayRefused
    try:
        # Strict base64, as the validation URL reads Basic credentials.
        decoded = binascii.a2b_base64(encoded.strip(), strict_mode=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise _GatewayRefused from None
    client_id, sep, secret = decoded.rpartition(":")
    if not sep or not client_id or not secret:
        raise _GatewayRefused
    return Credentials(client_id, secret)


def _presented_token(request: HttpRequest) -> str | None:
    """The client's token, from exactly one of its headers; None when it sent none."""
    found = []
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        found.append(credentials.strip())
    found += [request.META[h].strip() for h in _TOKEN_HEADERS if h in request.META]
    if len(found) > 1:
        raise _TwoTokens
    return found[0] if found and found[0] else None


def _required_scopes(request: HttpRequest) -> set[str]:
    # The route's own requirement, set by the gateway's configuration; both places add up.
    header = request.META.get(_REQUIRED_SCOPE, "")
    if not request.META.get("QUERY_STRING"):  # the usual case: no QueryDict to build
        return set(header.split())
    return set(f"{request.GET.get('scope', '')} {header}".split())


# RFC 6749 section 3.3's scope-token: only such names are repeated in the challenge (a quote or a
# line break would break the header).
_SCOPE_TOKENS = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")


def _bearer(status: int, error: str | None, **extra: str) -> JsonResponse:
    body = {"error": error} if error else {"error": "invalid_token"}
    response = JsonResponse(body | extra, status=status)
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    for name, value in extra.items():
        if _SCOPE_TOKENS.fullmatch(value):
            challenge += f', {name}="{value}"'
    response["WWW-Authenticate"] = challenge
    return response


def _identity(active: ActiveToken) -> tuple[tuple[str, tuple[str, str]], ...]:
    """The identity headers as Django stores them, checked and encoded by Django (a line break
    refused, a name outside Latin-1 MIME-encoded)."""
    headers = ResponseHeaders(
        {
            SUBJECT: str(active.user_id),
            USERNAME: active.username,
            TOKEN_KIND: active.kind,
            TOKEN_ID: str(active.id),
            SCOPES: " ".join(active.scopes),
            CLIENT_ID: active.application_uri,
        }
    )
    return tuple(headers._store.items())


def _allowed(active: ActiveToken) -> HttpResponse:
    response = HttpResponse(b"")
    # Built once per cached facts (ActiveToken.remembered) and copied in as Django keeps them:
    # setting six headers one by one checks and encodes each again, a sixth of a cached check.
    response.headers._store.update(active.remembered("identity", _identity))
    return response


@sensitive_variables()
def _answer(request: HttpRequest) -> tuple[HttpResponse, str]:
    try:
        gateway = _gateway(request)
        try:
            token = _presented_token(request)
        except _TwoTokens:
            authenticate_caller(gateway.client_id, gateway.secret)
            # 401, not 400: every gateway passes a 401 on to the client, some turn a 400 into
            # their own 500.
            return _bearer(401, "invalid_request"), "invalid_request"
        if token is None:
            authenticate_caller(gateway.client_id, gateway.secret)
            return _bearer(401, None), "invalid_token"
        active = check_for_resource_server(
            token,
            client_id=gateway.client_id,
            client_secret=gateway.secret,
            client_ip=remote_address(request),
        )
        if active is None:
            return _bearer(401, "invalid_token"), "invalid_token"
        required = _required_scopes(request)
        if required and not required.issubset(active.scopes):
            scope = " ".join(sorted(required))
            return _bearer(403, "insufficient_scope", scope=scope), "insufficient_scope"
        return _allowed(active), "allowed"
    except (_GatewayRefused, InvalidClient) as refused:
        registered = isinstance(refused, InvalidClient) and refused.registered
        security_event(
            "forward_auth.denied",
            level=logging.WARNING,
            # Only a registered id is logged: a gateway that swapped id and secret must not put
            # the secret in the logs.
            client_id=gateway.client_id if registered else None,
            reason="bad gateway credentials",
        )
        body = {
            "error": "invalid_client",
            "error_description": "The gateway's X-Gateway-Authorization is not a resource "
            "server's valid credential.",
        }
        return JsonResponse(body, status=403), "invalid_gateway"
    except DatabaseError as error:
        # An outage is a 503 (never a 200); any other database error is a bug (a 500).
        outage = outage_response(request, error)
        if outage is None:
            raise
        return outage, "error"


@lean
@validation_url
@csrf_exempt
def forward_auth_view(request: HttpRequest, original: str = "") -> HttpResponse:
    """Any method: gateways send the original request's (nginx, Traefik, Envoy) or GET (Caddy).

    `original`: the path Envoy appends to the check's URL, ignored (the route's scopes come from
    this URL's query or X-Required-Scope)."""
    # What Histogram.time() does, without its timer object and context manager per call.
    started = perf_counter()
    try:
        response, outcome = _answer(request)
    finally:
        FORWARD_AUTH_SECONDS.observe(perf_counter() - started)
    _OUTCOMES[outcome].inc()
    if request.method == "HEAD":
        response["Content-Length"] = str(len(response.content))
        response.content = b""
    return no_store(response)

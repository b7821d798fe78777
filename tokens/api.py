"""The public endpoints: resource servers and token holders call these, never a browser session.

Every response carries `Cache-Control: no-store`, and a database failure answers 503, never a
500 and never `active: true`: the `public_endpoint` decorator owns both rules, so no view can
forget them. Bodies are parsed here by hand (not through `request.POST`) so that the size limit is
checked before reading, and so that odd encodings are refused with a 400 instead of being
silently "replaced" into something else.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import logging
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from common.http import no_store, remote_address
from common.middleware import lean
from tokens.format import is_well_formed
from tokens.introspection import ActiveToken, InvalidClient, describe, introspect
from tokens.models import REVOKED_BY_HOLDER, ReferenceToken

logger = logging.getLogger(__name__)

# A token request is ~100 bytes; a few KB leave room for credentials and hints, nothing more.
MAX_BODY_BYTES = 4096
RETRY_AFTER_SECONDS = 5
REALM = "token-portal"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# `{"active": false}` is the whole answer for every inactive reason: built once, so that no
# code path can ever add a hint (a reason, a timestamp) by accident.
INACTIVE = b'{"active": false}'

View = Callable[..., HttpResponse]


class BadRequest(Exception):
    """The request is malformed: answered `400 invalid_request` with this description."""


class RequestTooLarge(Exception):
    pass


class UnsupportedMediaType(Exception):
    pass


def _error(status: int, error: str, description: str | None = None) -> JsonResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JsonResponse(body, status=status)


def public_endpoint(*methods: str) -> Callable[[View], View]:
    """CSRF-exempt API view answering only `methods`; no-store always; 503 when the DB is down."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = _error(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
            else:
                try:
                    response = view(request, *args, **kwargs)
                except BadRequest as exc:
                    response = _error(400, "invalid_request", str(exc))
                except RequestTooLarge:
                    response = _error(
                        413, "invalid_request", f"The body exceeds {MAX_BODY_BYTES} bytes."
                    )
                except UnsupportedMediaType:
                    response = _error(415, "invalid_request", f"Send the body as {FORM} or {JSON}.")
                except (DatabaseError, InterfaceError):
                    # Logged without the request: its body holds a token and maybe a secret.
                    logger.exception("Database unavailable in %s", view.__name__)
                    response = _error(503, "temporarily_unavailable")
                    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return no_store(response)

        return lean(csrf_exempt(wrapper))

    return decorate


# --- Reading a request ---------------------------------------------------------------------

_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_CHARSETS = {"", "utf-8", "utf8", "us-ascii"}


def _read_body(request: HttpRequest) -> bytes:
    """The raw body, refused before reading when it announces (or turns out) too large."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest("The Content-Length header is not a number.") from None
    if announced > MAX_BODY_BYTES:
        raise RequestTooLarge
    # Read one byte more than allowed: a server that passes more than it announced is caught too.
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise RequestTooLarge
    return body


def _parse_form(body: bytes) -> dict[str, str]:
    if _BAD_PERCENT.search(body):
        raise BadRequest("The body has a malformed percent-encoding.")
    params: dict[str, str] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name, value = (
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
                for part in (raw_name, raw_value)
            )
        except UnicodeDecodeError:
            raise BadRequest("The body is not UTF-8.") from None
        if name in params:  # RFC 6749 section 3.2: parameters must not repeat
            raise BadRequest(f"The parameter {name!r} appears more than once.")
        params[name] = value
    return params


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    params = dict(pairs)
    if len(params) != len(pairs):
        raise BadRequest("The JSON object repeats a key.")
    return params


def _parse_json(body: bytes) -> dict[str, object]:
    try:
        params = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8.") from None
    except ValueError:  # includes RecursionError-free JSONDecodeError
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise BadRequest("The JSON body must be an object.")
    return params


def _body_params(request: HttpRequest) -> dict[str, object]:
    """The body's parameters, form-encoded or JSON."""
    body = _read_body(request)
    if not body:  # nothing to decode, whatever the (often absent) Content-Type says
        return {}
    charset = request.content_params.get("charset", "").lower()
    if request.content_type == FORM and charset in _CHARSETS:
        return _parse_form(body)
    if request.content_type == JSON and charset in _CHARSETS:
        return _parse_json(body)
    raise UnsupportedMediaType


def _token_param(params: dict[str, object]) -> str:
    token = params.get("token")
    if token is None or token == "":
        raise BadRequest("The token parameter is missing.")
    if not isinstance(token, str):
        raise BadRequest("The token parameter must be a string.")
    return token


def _optional_str(params: dict[str, object], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"The {name} parameter must be a string.")
    return value or None


def _client_ip(params: dict[str, object]) -> str | None:
    """The end user's address as the resource server reports it; ignored unless an IP address."""
    value = params.get("client_ip")
    if not isinstance(value, str) or len(value) > 45:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """`client_id:secret` from HTTP Basic; None when the header is absent or another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest("The Basic credentials are not valid base64 of UTF-8 text.") from None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise BadRequest("The Basic credentials have no ':' between client id and secret.")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before they are joined.
    try:
        return (
            unquote_to_bytes(raw_id.replace("+", " ")).decode("utf-8"),
            unquote_to_bytes(raw_secret.replace("+", " ")).decode("utf-8"),
        )
    except UnicodeDecodeError:
        raise BadRequest("The Basic credentials are not UTF-8.") from None


def _caller_credentials(request: HttpRequest, params: dict[str, object]) -> tuple[str, str] | None:
    basic = _basic_credentials(request)
    client_id = _optional_str(params, "client_id")
    client_secret = _optional_str(params, "client_secret")
    if basic is not None:
        if client_secret is not None:  # RFC 6749 section 2.3: one method per request
            raise BadRequest("Authenticate with HTTP Basic or client_secret, not both.")
        return basic if all(basic) else None
    if client_id and client_secret:
        return client_id, client_secret
    return None


def _invalid_client() -> JsonResponse:
    response = _error(401, "invalid_client")
    response["WWW-Authenticate"] = f'Basic realm="{REALM}"'
    return response


# --- Views ---------------------------------------------------------------------------------


def _answer(active: ActiveToken, audience: str) -> dict:
    answer = {
        "active": True,
        "token_kind": active.kind,
        "scope": " ".join(active.scopes),
        "client_id": active.application_uri,
        "sub": str(active.user_id),
        "username": active.username,
        "iat": int(active.issued_at.timestamp()),
        "jti": str(active.id),
        "aud": audience,
    }
    if active.expires_at is not None:
        answer["exp"] = int(active.expires_at.timestamp())
    return answer


@public_endpoint("POST")
@sensitive_variables()
def introspect_view(request: HttpRequest) -> HttpResponse:
    """RFC 7662 token introspection, for registered resource servers."""
    params = _body_params(request)
    credentials = _caller_credentials(request, params)
    if credentials is None:
        return _invalid_client()
    token = _token_param(params)
    client_id, secret = credentials
    try:
        active = introspect(
            token, client_id=client_id, client_secret=secret, client_ip=_client_ip(params)
        )
    except InvalidClient:
        return _invalid_client()
    if active is None:
        return HttpResponse(INACTIVE, content_type=JSON)
    # json.dumps straight: JsonResponse's encoder class is built per call, for types never here.
    return HttpResponse(json.dumps(_answer(active, client_id)), content_type=JSON)


@public_endpoint("POST")
@sensitive_variables()
def revocation_view(request: HttpRequest) -> HttpResponse:
    """RFC 7009 revocation: holding the token is the authority to revoke it.

    Always 200 for a well-formed request, so the answer says nothing about whether it existed.
    """
    token = _token_param(_body_params(request))
    if is_well_formed(token):
        ReferenceToken.objects.matching(token).revoke(
            by=None, reason=REVOKED_BY_HOLDER, ip=remote_address(request)
        )
    return JsonResponse({})


def _base_url(request: HttpRequest) -> str:
    return settings.PORTAL_BASE_URL or request.build_absolute_uri("/").rstrip("/")


@public_endpoint("GET")
def metadata_view(request: HttpRequest) -> HttpResponse:
    """RFC 8414 authorization server metadata, naming the two endpoints above."""
    base = _base_url(request)
    return JsonResponse(
        {
            "issuer": base,
            "introspection_endpoint": f"{base}/connect/introspect",
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "revocation_endpoint": f"{base}/connect/revocation",
            "revocation_endpoint_auth_methods_supported": ["none"],
            # Tokens are issued by people in the portal, never through an OAuth flow.
            "response_types_supported": [],
            "grant_types_supported": [],
        }
    )


_TOKEN_HEADERS = ("HTTP_X_API_KEY", "HTTP_API_KEY")


def _holder_token(request: HttpRequest) -> str | None:
    if "access_token" in request.GET or "token" in request.GET:
        # A token in a URL ends up in proxy and server logs: refuse it outright.
        raise BadRequest("Send the token in a header, never in the query string.")
    found = []
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        found.append(credentials.strip())
    found += [request.META[h].strip() for h in _TOKEN_HEADERS if h in request.META]
    if len(found) > 1:  # RFC 6750 section 2: one method per request
        raise BadRequest("Send the token in one header only.")
    return found[0] if found else None


def _invalid_token(error: bool) -> JsonResponse:
    response = _error(401, "invalid_token")
    challenge = f'Bearer realm="{REALM}"'
    response["WWW-Authenticate"] = challenge + (', error="invalid_token"' if error else "")
    return response


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@public_endpoint("GET")
@sensitive_variables()
def token_self_view(request: HttpRequest) -> HttpResponse:
    """The token of the request describes itself, so a script can check it and its expiry."""
    token = _holder_token(request)
    if not token:
        return _invalid_token(error=False)
    active = describe(token)
    if active is None:
        return _invalid_token(error=True)
    return JsonResponse(
        {
            "active": True,
            "token_kind": active.kind,
            "application": active.application_uri,
            "scopes": list(active.scopes),
            "user": {"id": str(active.user_id), "username": active.username},
            "created_at": _iso(active.issued_at),
            "expires_at": _iso(active.expires_at),
            "last_used_at": _iso(active.last_used_at),
            "jti": str(active.id),
        }
    )


def _expires_in_days(params: dict[str, object]) -> int | None:
    value = params.get("expires_in_days")
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 99999:
        raise BadRequest("expires_in_days must be a whole number of days, at least 1.")
    return value


@public_endpoint("POST")
@sensitive_variables()
def token_rotate_self_view(request: HttpRequest) -> HttpResponse:
    """The token of the request rotates itself: a new token, shown once; this one is revoked."""
    token = _holder_token(request)
    if not token:
        return _invalid_token(error=False)
    days = _expires_in_days(_body_params(request))
    found = None
    if is_well_formed(token):
        found = ReferenceToken.objects.matching(token).only("pk").first()
    if found is None:
        return _invalid_token(error=True)
    try:
        issued = ReferenceToken.objects.rotate(
            found.pk, by=None, ip=remote_address(request), expires_in_days=days
        )
    except ValidationError as error:
        # The holder may learn why their own token cannot be rotated (revoked, expired...).
        code = "invalid_token" if getattr(error, "code", None) == "not_live" else "invalid_request"
        return _error(400, code, " ".join(error.messages))
    new = issued.token
    return JsonResponse(
        {
            "token": issued.plaintext,
            "token_type": "Bearer",
            "token_kind": new.kind,
            "application": new.application.application_uri,
            "scopes": sorted(scope.name for scope in new.scopes.all()),
            "expires_at": _iso(new.expires_at),
            "jti": str(new.pk),
            "rotated_from": str(found.pk),
        },
        status=201,
    )


@public_endpoint("GET")
def healthz_view(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; a DatabaseError becomes the decorator's 503."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})

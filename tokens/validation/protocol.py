"""HTTP for the public endpoints: reading a request once, and mapping every failure to an answer.

`endpoint` reads and checks what a view needs before the view runs: the method, the body (form-
encoded or JSON, within a size limit, refused with 400/411/413/415 when odd), the caller's
credentials (a resource server), the holder's token (header only), and the parameters through a
small Django form. The view receives them as keyword arguments and only decides. Every answer
carries `Cache-Control: no-store`, a database outage answers 503 (never a 500, never
`active: true`), and no error answer holds a hint about a token.

Bodies are read here by hand, not through `request.POST`, so that the size limit is checked before
reading and odd encodings are refused instead of being silently "replaced" into something else.
"""

from __future__ import annotations

import binascii
import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from common.http import no_store
from common.logs import security_event
from common.middleware import lean, outage_response, validation_url
from tokens.validation.checks import InvalidClient, authenticate_caller

# A token request is ~100 bytes; a few KB leave room for credentials and hints, nothing more.
MAX_BODY_BYTES = 4096
REALM = "token-portal"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# `{"active": false}` is the whole answer for every inactive reason: built once, so that no
# code path can ever add a hint (a reason, a timestamp) by accident.
INACTIVE = b'{"active": false}'

View = Callable[..., HttpResponse]


# --- Refusals ------------------------------------------------------------------------------


class Refusal(Exception):
    """A request the endpoint will not serve, answered `{"error": ...}` with `status`."""

    status = 400
    error = "invalid_request"
    # Headers the answer carries (a challenge, Retry-After); `extra_headers` where they vary.
    headers: dict[str, str] = {}

    def __init__(self, description: str = "", *, error: str = "") -> None:
        super().__init__(description)
        self.description = description
        if error:
            self.error = error

    def response(self) -> JsonResponse:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        response = JsonResponse(body, status=self.status)
        for name, value in {**self.headers, **self.extra_headers()}.items():
            response[name] = value
        return response

    def extra_headers(self) -> dict[str, str]:
        return {}


class BadRequest(Refusal):
    pass


class Forbidden(Refusal):
    """An authenticated request for something its credentials may not do."""

    status = 403


class LengthRequired(Refusal):
    status = 411


class RequestTooLarge(Refusal):
    status = 413

    def __init__(self, limit: int = MAX_BODY_BYTES) -> None:
        super().__init__(f"The body exceeds {limit} bytes.")


class UnsupportedMediaType(Refusal):
    status = 415

    def __init__(self) -> None:
        super().__init__(f"Send the body as {FORM} or {JSON} (UTF-8).")


class MethodNotAllowed(Refusal):
    status = 405
    error = "method_not_allowed"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(f"Use {' or '.join(m for m in allowed if m != 'HEAD')}.")
        self.allowed = allowed

    def extra_headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class CallerRefused(Refusal):
    """No caller credentials, or not those of an enabled resource server (RFC 6749 5.2)."""

    status = 401
    error = "invalid_client"
    headers = {"WWW-Authenticate": f'Basic realm="{REALM}"'}


class TokenRefused(Refusal):
    """No holder token (no error code, RFC 6750 3.1), or one that is not active."""

    status = 401
    error = "invalid_token"

    def __init__(self, *, presented: bool) -> None:
        super().__init__()
        self.presented = presented

    def extra_headers(self) -> dict[str, str]:
        challenge = f'Bearer realm="{REALM}"'
        error = ', error="invalid_token"' if self.presented else ""
        return {"WWW-Authenticate": challenge + error}


# --- Parameters ------------------------------------------------------------------------------


class TextParameter(forms.CharField):
    """A string parameter taken as sent: a JSON number or list is refused, not turned into text,
    and nothing is stripped (a token with a trailing newline is another string)."""

    def __init__(self, name: str, **kwargs) -> None:
        messages = {
            "required": f"The {name} parameter is missing.",
            "type": f"The {name} parameter must be a string.",
        }
        super().__init__(strip=False, error_messages=messages, **kwargs)
        self.validators = [
            ProhibitNullCharactersValidator(f"The {name} parameter holds a NUL character.")
            if isinstance(v, ProhibitNullCharactersValidator)
            else v
            for v in self.validators
        ]

        # Only the NUL check: then `clean` may take its short cut.
        self._plain = all(isinstance(v, ProhibitNullCharactersValidator) for v in self.validators)

    def to_python(self, value: object) -> str | None:
        if value not in self.empty_values and not isinstance(value, str):
            raise ValidationError(self.error_messages["type"], code="type")
        return super().to_python(value)

    def clean(self, value: object) -> object:
        # The usual value, a non-empty string without NUL, is what to_python, validate and the
        # validators would make of it: returned as is, without their dozen calls (hot path).
        if self._plain and type(value) is str and value and "\x00" not in value:
            return value
        return super().clean(value)


class ReportedAddress(forms.GenericIPAddressField):
    """An address a resource server reports for information only (its end user's): anything that
    is not an IP address is dropped rather than refused, so a check never fails over it."""

    def clean(self, value: object) -> str | None:
        if not isinstance(value, str):
            return None
        try:
            return super().clean(value) or None
        except ValidationError:
            return None


def clean_params(params: type[forms.Form], body: dict[str, object]) -> dict[str, object]:
    """The body's parameters as the form's fields clean them; BadRequest with the first error.

    The fields are used as the class declares them. A bound form would deep-copy every field on
    each request, a fifth of a cached check's whole cost, and cleaning a value changes no field.
    Such forms therefore declare fields only (`endpoint` checks it): no clean methods.
    """
    cleaned = {}
    for name, declared in params.base_fields.items():
        try:
            cleaned[name] = declared.clean(body.get(name))
        except ValidationError as error:
            raise BadRequest(error.messages[0]) from None
    return cleaned


def _fields_only(params: type[forms.Form]) -> None:
    hooks = [n for n in dir(params) if n.startswith("clean_")]
    if hooks or params.clean is not forms.Form.clean:
        raise ImproperlyConfigured(f"{params.__name__}: endpoint parameters declare fields only.")


# --- Reading a request -----------------------------------------------------------------------

_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_CHARSETS = {"", "utf-8", "utf8", "us-ascii"}


def read_body(request: HttpRequest, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused before reading when it announces (or turns out) too large.

    A chunked body has no Content-Length. A WSGI server that de-chunks and ends the stream
    (`wsgi.input_terminated`: granian and gunicorn do) lets it be read here within the same
    limit; other servers (Django's runserver) hand over the raw socket, so the request is answered
    411.
    """
    # META, not request.headers: building that mapping reads every header, on the hot path.
    length = request.META.get("CONTENT_LENGTH", "")
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and not length:
        if not request.META.get("wsgi.input_terminated"):
            raise LengthRequired(
                "This server cannot read a chunked body: send it with a Content-Length."
            )
        stream = request.META["wsgi.input"]
    else:
        try:
            announced = int(length or 0)
        except ValueError:
            raise BadRequest("The Content-Length header is not a number.") from None
        if announced > limit:
            raise RequestTooLarge(limit)
        stream = request
    # One byte more than allowed: a server that passes more than it announced is caught too.
    body = stream.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge(limit)
    return body


def _parse_form(body: bytes) -> dict[str, object]:
    if b"%" not in body and b"+" not in body and b"&" not in body:
        # One parameter, nothing to unquote: `token=enrt_...`, what the loop below would make of
        # it without its steps (hot path).
        raw_name, _, raw_value = body.partition(b"=")
        try:
            return {raw_name.decode("utf-8"): raw_value.decode("utf-8")}
        except UnicodeDecodeError:
            raise BadRequest("The body is not UTF-8.") from None
    if _BAD_PERCENT.search(body):
        raise BadRequest("The body has a malformed percent-encoding.")
    params: dict[str, object] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name, value = _form_decoded(raw_name), _form_decoded(raw_value)
        except UnicodeDecodeError:
            raise BadRequest("The body is not UTF-8.") from None
        if name in params:  # RFC 6749 section 3.2: parameters must not repeat
            raise BadRequest(f"The parameter {name!r} appears more than once.")
        params[name] = value
    return params


def _form_decoded(part: bytes) -> str:
    if b"%" not in part and b"+" not in part:  # a token, a client id: nothing to unquote
        return part.decode("utf-8")
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


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
    except RecursionError:
        # A few KB of `[` nest deeper than Python's parser recurses; no request needs nesting.
        raise BadRequest("The JSON body nests too deeply.") from None
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise BadRequest("The JSON body must be an object.")
    return params


def body_params(request: HttpRequest) -> dict[str, object]:
    """The body's parameters, form-encoded or JSON."""
    body = read_body(request)
    if not body:  # nothing to decode, whatever the (often absent) Content-Type says
        return {}
    charset = (request.content_params or {}).get("charset", "").lower()
    if request.content_type == FORM and charset in _CHARSETS:
        return _parse_form(body)
    if request.content_type == JSON and charset in _CHARSETS:
        return _parse_json(body)
    raise UnsupportedMediaType


@dataclass(frozen=True)
class Credentials:
    """A caller's client id and secret as sent (Basic: raw or form-encoded; both are tried)."""

    client_id: str
    secret: str = field(repr=False)


def _basic_credentials(request: HttpRequest) -> Credentials | None:
    """`client_id:secret` from HTTP Basic; None when the header is absent or another scheme.

    Split at the last colon: client ids may hold `:` (a URN, a URL), generated secrets never do.
    """
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        # Strict: the base64 alphabet and padding only, as b64decode(validate=True) checks with
        # a regular expression first (hot path).
        decoded = binascii.a2b_base64(encoded.strip(), strict_mode=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest("The Basic credentials are not valid base64 of UTF-8 text.") from None
    client_id, sep, secret = decoded.rpartition(":")
    if not sep:
        raise BadRequest("The Basic credentials have no ':' between client id and secret.")
    return Credentials(client_id, secret)


def caller_credentials(request: HttpRequest, params: dict[str, object]) -> Credentials:
    """HTTP Basic (client_secret_basic) or client_id + client_secret in the body (_post)."""
    basic = _basic_credentials(request)
    client_id, secret = params.get("client_id"), params.get("client_secret")
    if client_id is not None or secret is not None:  # the usual request has neither (hot path)
        for name, value in (("client_id", client_id), ("client_secret", secret)):
            if value is not None and not isinstance(value, str):
                raise BadRequest(f"The {name} parameter must be a string.")
    if basic is not None:
        if secret is not None:  # RFC 6749 section 2.3: one method per request
            raise BadRequest("Authenticate with HTTP Basic or client_secret, not both.")
        if not basic.client_id or not basic.secret:
            raise CallerRefused
        return basic
    if isinstance(client_id, str) and isinstance(secret, str) and client_id and secret:
        return Credentials(client_id, secret)
    raise CallerRefused


_HOLDER_HEADERS = ("X-Api-Key", "Api-Key")


def holder_token(request: HttpRequest) -> str:
    """The token a holder presents about itself: `Authorization: Bearer`, `X-Api-Key` or
    `Api-Key`, exactly one of them (RFC 6750 section 2)."""
    if "access_token" in request.GET or "token" in request.GET:
        # A token in a URL ends up in proxy and server logs: refuse it outright.
        raise BadRequest("Send the token in a header, never in the query string.")
    found = []
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":
        found.append(credentials.strip())
    found += [request.headers[h].strip() for h in _HOLDER_HEADERS if h in request.headers]
    if len(found) > 1:
        raise BadRequest("Send the token in one header only.")
    if not found or not found[0]:
        raise TokenRefused(presented=False)
    return found[0]


# --- The decorator ---------------------------------------------------------------------------


def endpoint(
    *methods: str,
    params: type[forms.Form] | None = None,
    caller: bool = False,
    holder: bool = False,
    validation: bool = False,
) -> Callable[[View], View]:
    """A CSRF-exempt public endpoint answering only `methods` (HEAD too, where GET is).

    The view is called with keyword arguments: the form's `params` (cleaned), `caller`
    (Credentials, which the view must authenticate: the introspection lookup does it in the same
    query), `token` (the holder's). A request whose parameters are wrong is answered 400 only
    after its caller is authenticated, so a stranger learns nothing about the endpoint's rules.
    `validation`: a check resource servers make on every API call (common.middleware's
    `validation_url`: the shorter statement timeout).
    """
    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view: View) -> View:
        if params is not None:
            _fields_only(params)

        # Django's error reports hide the variables of every frame beneath a frame marked
        # sensitive: this one mark covers the view and every helper it calls, which hold
        # tokens and secrets (one mark, not one per function: each costs a call per request).
        @functools.wraps(view)
        @sensitive_variables()
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            response: HttpResponse
            if request.method not in allowed:
                response = MethodNotAllowed(allowed).response()
            else:
                response = _serve(view, request, args, kwargs, params, caller, holder)
            if request.method == "HEAD":
                # As GET, without the body: its length stays, as RFC 9110 section 9.3.2 allows.
                response["Content-Length"] = str(len(response.content))
                response.content = b""
            return no_store(response)

        marked = lean(csrf_exempt(wrapper))
        return validation_url(marked) if validation else marked

    return decorate


def _serve(
    view: View,
    request: HttpRequest,
    args: tuple,
    kwargs: dict,
    params: type[forms.Form] | None,
    caller: bool,
    holder: bool,
) -> HttpResponse:
    try:
        if holder:
            kwargs["token"] = holder_token(request)
        body = body_params(request) if request.method == "POST" else {}
        if caller:
            kwargs["caller"] = credentials = caller_credentials(request, body)
        if params is not None:
            try:
                kwargs.update(clean_params(params, body))
            except BadRequest:
                if caller:
                    authenticate_caller(credentials.client_id, credentials.secret)
                raise
        return view(request, *args, **kwargs)
    except Refusal as refusal:
        return refusal.response()
    except InvalidClient as denied:
        # The client_id is logged only when it names a registered server: a caller that swapped
        # its id and secret must not put the secret in the logs.
        caller_id = getattr(kwargs.get("caller"), "client_id", None)
        security_event(
            "introspection.denied",
            level=logging.WARNING,
            client_id=caller_id if denied.registered else None,
            reason="bad credentials",
        )
        return CallerRefused().response()
    except DatabaseError as error:
        # An outage is a 503 to retry, never `active: true`; any other database error (a value
        # it refuses, a missing table) is a bug, reported as one (500, with its traceback). The
        # edge refuses what the database would (NUL and other non-VSCHAR credentials; tokens are
        # only ever hashed). The outage is logged once, without the request, whose body holds a
        # token and maybe a secret.
        outage = outage_response(request, error)
        if outage is None:
            raise
        return outage

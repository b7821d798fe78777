"""SCIM's HTTP (RFC 7644): the bearer secret, the body, and every refusal as a SCIM error.

`scim_endpoint` authenticates the provisioning client before anything else (a stranger learns
nothing of the API's rules), reads and parses a JSON body within a size limit, and turns every
refusal into `{"schemas": [...Error], "status": "...", "scimType": ..., "detail": ...}` with its
status. Bodies are never logged: they carry personal data, and Okta may send a password.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from common.http import no_store
from common.logs import security_event
from common.middleware import lean, outage_response
from scim.models import ScimClient

CONTENT_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# A person's resource is well under 4 KB; a connector's largest PATCH is a few of them.
MAX_BODY_BYTES = 64 * 1024
_JSON_TYPES = {"application/scim+json", "application/json"}

View = Callable[..., HttpResponse]


class ScimError(Exception):
    """A refusal, answered as RFC 7644 section 3.12 words it."""

    status = 400

    def __init__(self, detail: str, scim_type: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.scim_type = scim_type
        if status is not None:
            self.status = status

    def response(self) -> HttpResponse:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        response = scim_response(body, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response


class NotFound(ScimError):
    status = 404


def bad(detail: str, scim_type: str = "invalidValue") -> ScimError:
    return ScimError(detail, scim_type)


def scim_response(body: object, status: int = 200) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, secret = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


@sensitive_variables("secret")
def authenticate(request: HttpRequest) -> ScimClient:
    secret = _bearer(request)
    if secret is None:
        security_event("scim.denied", level=logging.WARNING, reason="no bearer secret")
        raise ScimError("Send the SCIM client's secret as Authorization: Bearer.", status=401)
    client = ScimClient.objects.authenticated_by(secret)
    if client is None:
        # Never the secret presented: it may be a real one, of another system, pasted here.
        security_event("scim.denied", level=logging.WARNING, reason="unknown secret")
        raise ScimError("The bearer secret is not one of an enabled SCIM client.", status=401)
    return client


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object; 415 for another media type, 413 when too large, 400 when
    it is not one JSON object."""
    media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media_type not in _JSON_TYPES:
        raise ScimError(f"Send the body as {CONTENT_TYPE} (or application/json).", status=415)
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise bad("The Content-Length header is not a number.", "invalidSyntax") from None
    if announced > MAX_BODY_BYTES:
        raise ScimError(f"The body exceeds {MAX_BODY_BYTES} bytes.", status=413)
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ScimError(f"The body exceeds {MAX_BODY_BYTES} bytes.", status=413)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise bad("The body is not valid JSON.", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise bad("The body must be one JSON object.", "invalidSyntax")
    return body


def scim_endpoint(*methods: str) -> Callable[[View], View]:
    """A CSRF-exempt, session-less SCIM endpoint answering `methods`.

    The view gets `client` (the authenticated ScimClient) and, for POST, PUT and PATCH, `body`
    (the parsed JSON object).
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        @sensitive_variables()
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                client = authenticate(request)
                if request.method not in methods:
                    raise ScimError(
                        f"{request.method} is not supported here: use {', '.join(methods)}.",
                        status=405,
                    )
                if request.method in ("POST", "PUT", "PATCH"):
                    kwargs["body"] = read_json(request)
                client.note_use()
                response = view(request, *args, client=client, **kwargs)
            except ScimError as refusal:
                response = refusal.response()
                if refusal.status == 405:
                    response["Allow"] = ", ".join(methods)
            except DatabaseError as error:
                # An outage is a 503 to retry (logged once, without the body); anything else
                # is a bug, reported as one.
                outage = outage_response(request, error)
                if outage is None:
                    raise
                response = outage
            return no_store(response)

        return lean(csrf_exempt(wrapper))

    return decorate

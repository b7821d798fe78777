"""The public endpoints: resource servers and token holders call these, never a browser session.

Each view decides only; `tokens.validation.protocol.endpoint` has read and checked the request
before it runs (method, body, caller, holder token, parameters) and maps every failure to an answer.
"""

from __future__ import annotations

import functools
from time import perf_counter

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.http import remote_address
from common.metrics import VALIDATION_REQUESTS, VALIDATION_SECONDS
from tokens.domain import lifecycle
from tokens.format import is_well_formed
from tokens.leaks.reports import Report, Source, leak_url, report_leaks
from tokens.models import LEAKED, REVOKED_BY_HOLDER, ReferenceToken
from tokens.validation.checks import check_for_holder, check_for_resource_server, iso_datetime
from tokens.validation.protocol import (
    INACTIVE,
    JSON,
    BadRequest,
    Credentials,
    Forbidden,
    ReportedAddress,
    TextParameter,
    TokenRefused,
    endpoint,
)


class TokenParams(forms.Form):
    """RFC 7009 / 7662: the token. Any string is accepted; one that is not a well-formed token
    is simply not active. `token_type_hint` and other parameters are ignored, as the RFCs allow."""

    token = TextParameter("token")


class RevocationParams(TokenParams):
    # Issue 24: `reason=leaked` (and where it was seen, `url=`) reports the token as leaked.
    reason = TextParameter("reason", required=False)
    url = TextParameter("url", required=False)


class IntrospectionParams(TokenParams):
    # The end user's address as the resource server reports it, shown as "last used from".
    client_ip = ReportedAddress(required=False)


def _measured(view):
    """Counts the validation URL's answers by outcome and times them, 503s included."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # What Histogram.time() does, without its timer object and context manager per call.
        started = perf_counter()
        try:
            response = view(request, *args, **kwargs)
        finally:
            VALIDATION_SECONDS.observe(perf_counter() - started)
        _OUTCOMES[_outcome(response)].inc()
        return response

    return wrapper


# One counter per outcome, bound once: `labels()` takes a lock and a lookup on every call.
_OUTCOMES = {
    outcome: VALIDATION_REQUESTS.labels(outcome=outcome)
    for outcome in ("active", "inactive", "invalid_client", "invalid_request", "error")
}


def _outcome(response: HttpResponse) -> str:
    if response.status_code == 200:
        return "inactive" if response.content == INACTIVE else "active"
    return {401: "invalid_client", 503: "error"}.get(response.status_code, "invalid_request")


@_measured
@endpoint("POST", params=IntrospectionParams, caller=True, validation=True)
def introspect_view(
    request: HttpRequest, *, caller: Credentials, token: str, client_ip: str | None
) -> HttpResponse:
    """RFC 7662 token introspection, for registered resource servers."""
    active = check_for_resource_server(
        token, client_id=caller.client_id, client_secret=caller.secret, client_ip=client_ip
    )
    if active is None:
        return HttpResponse(INACTIVE, content_type=JSON)
    return HttpResponse(active.introspection_json(), content_type=JSON)


@endpoint("POST", params=RevocationParams)
def revocation_view(request: HttpRequest, *, token: str, reason: str, url: str) -> HttpResponse:
    """RFC 7009 revocation: holding the token is the authority to revoke it.

    Always 200 for a well-formed request, so the answer says nothing about whether it existed.
    `reason=leaked` reports it as leaked (anyone who found it may), `url` saying where.
    """
    if reason not in ("", LEAKED):
        raise BadRequest(f"The reason parameter may only be {LEAKED!r} (or absent).")
    if url and reason != LEAKED:
        raise BadRequest(f"The url parameter goes with reason={LEAKED} only.")
    if reason == LEAKED:
        try:
            where = leak_url(url) if url else ""
        except ValidationError as error:
            raise BadRequest(error.messages[0]) from None
        report_leaks([Report(token, where)], source=Source.HOLDER, ip=remote_address(request))
    elif is_well_formed(token):
        lifecycle.revoke(
            ReferenceToken.objects.matching(token),
            by=None,
            reason=REVOKED_BY_HOLDER,
            ip=remote_address(request),
        )
    return JsonResponse({})


def _base_url(request: HttpRequest) -> str:
    return settings.PORTAL_BASE_URL or request.build_absolute_uri("/").rstrip("/")


@endpoint("GET")
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


@endpoint("GET", holder=True, validation=True)
def token_self_view(request: HttpRequest, *, token: str) -> HttpResponse:
    """The token of the request describes itself, so a script can check it and its expiry."""
    active = check_for_holder(token, client_ip=remote_address(request))
    if active is None:
        raise TokenRefused(presented=True)
    return JsonResponse(active.holder_answer())


class Lifetime(forms.Field):
    """A whole number of days: a JSON integer or ASCII digits (no bool, no fraction)."""

    default_error_messages = {
        "invalid": "expires_in_days must be a whole number of days, at least 1."
    }

    def to_python(self, value: object) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 5:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 99999:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class RotationParams(forms.Form):
    # Default: the old token's lifetime; never more than it, nor than the application's longest.
    expires_in_days = Lifetime(required=False)


@endpoint("POST", params=RotationParams, holder=True)
def token_rotate_self_view(
    request: HttpRequest, *, token: str, expires_in_days: int | None
) -> HttpResponse:
    """The token of the request rotates itself: a new token, shown once; this one is revoked."""
    found = None
    if is_well_formed(token):
        found = ReferenceToken.objects.matching(token).only("pk").first()
    if found is None:
        raise TokenRefused(presented=True)
    try:
        issued = lifecycle.rotate(
            found,
            by=None,
            ip=remote_address(request),
            expires_in_days=expires_in_days,
            by_holder=True,
        )
    except ValidationError as error:
        # The holder may learn why their own token cannot be rotated (revoked, expired...).
        description = " ".join(error.messages)
        code = getattr(error, "code", None)
        if code == "holder_rotation_off":
            raise Forbidden(description, error="self_rotation_disabled") from None
        error_code = "invalid_token" if code == "not_live" else "invalid_request"
        raise BadRequest(description, error=error_code) from None
    new = issued.token
    return JsonResponse(
        {
            "token": issued.plaintext,
            "token_type": "Bearer",
            "token_kind": new.kind,
            "application": new.application.application_uri,
            "scopes": sorted(scope.name for scope in new.scopes.all()),
            "expires_at": iso_datetime(new.expires_at),
            "jti": str(new.pk),
            "rotated_from": str(found.pk),
        },
        status=201,
    )


@endpoint("GET")
def healthz_view(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; an outage becomes the endpoint's 503."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})

"""The public endpoints: resource servers and token holders call these, never a browser session.

Each view decides only; `tokens.protocol.endpoint` has read and checked the request before it
runs (method, body, caller, holder token, parameters) and maps every failure to an answer.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.debug import sensitive_variables

from common.http import remote_address
from tokens.format import is_well_formed
from tokens.introspection import describe, introspect
from tokens.models import REVOKED_BY_HOLDER, ReferenceToken
from tokens.protocol import (
    INACTIVE,
    JSON,
    Credentials,
    ReportedAddress,
    TextParameter,
    TokenRefused,
    endpoint,
)


class TokenParams(forms.Form):
    """RFC 7009 / 7662: the token. Any string is accepted; one that is not a well-formed token
    is simply not active. `token_type_hint` and other parameters are ignored, as the RFCs allow."""

    token = TextParameter("token")


class IntrospectionParams(TokenParams):
    # The end user's address as the resource server reports it, shown as "last used from".
    client_ip = ReportedAddress(required=False)


@endpoint("POST", params=IntrospectionParams, caller=True)
@sensitive_variables()
def introspect_view(
    request: HttpRequest, *, caller: Credentials, token: str, client_ip: str | None
) -> HttpResponse:
    """RFC 7662 token introspection, for registered resource servers."""
    active = introspect(
        token, client_id=caller.client_id, client_secret=caller.secret, client_ip=client_ip
    )
    if active is None:
        return HttpResponse(INACTIVE, content_type=JSON)
    return JsonResponse(active.introspection_answer())


@endpoint("POST", params=TokenParams)
@sensitive_variables()
def revocation_view(request: HttpRequest, *, token: str) -> HttpResponse:
    """RFC 7009 revocation: holding the token is the authority to revoke it.

    Always 200 for a well-formed request, so the answer says nothing about whether it existed.
    """
    if is_well_formed(token):
        ReferenceToken.objects.matching(token).revoke(
            by=None, reason=REVOKED_BY_HOLDER, ip=remote_address(request)
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


@endpoint("GET", holder=True)
@sensitive_variables()
def token_self_view(request: HttpRequest, *, token: str) -> HttpResponse:
    """The token of the request describes itself, so a script can check it and its expiry."""
    active = describe(token)
    if active is None:
        raise TokenRefused(presented=True)
    return JsonResponse(active.holder_answer())


@endpoint("GET")
def healthz_view(request: HttpRequest) -> HttpResponse:
    """200 when the database answers; an outage becomes the endpoint's 503."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})

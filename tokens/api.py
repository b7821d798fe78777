"""The public endpoints: resource servers and token holders call these, never a browser session."""

import base64
import binascii
import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tokens.introspection import ActiveToken, InvalidClient, introspect


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _invalid_client() -> JsonResponse:
    response = JsonResponse({"error": "invalid_client"}, status=401)
    response["WWW-Authenticate"] = 'Basic realm="token-portal"'
    return _no_store(response)


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, secret) if sep else None


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


@csrf_exempt
@require_POST
def introspect_view(request: HttpRequest) -> JsonResponse:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
    else:
        body = request.POST
    credentials = _basic_credentials(request) or (
        body.get("client_id"),
        body.get("client_secret"),
    )
    if not all(isinstance(part, str) and part for part in credentials):
        return _invalid_client()
    token = body.get("token")
    if not isinstance(token, str) or not token:
        return _no_store(
            JsonResponse(
                {
                    "error": "invalid_request",
                    "error_description": "The token parameter is missing.",
                },
                status=400,
            )
        )
    client_id, secret = credentials
    try:
        active = introspect(token, client_id=client_id, client_secret=secret)
    except InvalidClient:
        return _invalid_client()
    if active is None:
        return _no_store(JsonResponse({"active": False}))
    return _no_store(JsonResponse(_answer(active, client_id)))

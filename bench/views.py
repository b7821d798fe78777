"""Bench-only views: the ceiling, the baseline, the cache's counters and the two-node changes.

`ceiling` answers JSON without touching the database, through the same middleware and server as
the validation URL: the most any check can do here. `baseline` does one indexed SELECT of a
token row by its hash (same POST body, same SHA-256): the most a database-checked token can do.
"""

import json

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from common.http import no_store
from common.middleware import lean
from tokens.format import hash_token
from tokens.models import ReferenceToken

_SQL = (
    "SELECT id, user_id, expires_at, revoked_at FROM "  # noqa: S608
    + ReferenceToken._meta.db_table
    + " WHERE token_hash = %s"
)


@lean  # the same middleware as the validation URL
@csrf_exempt
@require_POST
def ceiling_view(request: HttpRequest) -> HttpResponse:
    request.read(4097)  # the body is read, as the validation URL reads it
    return no_store(HttpResponse(b'{"active": true}', content_type="application/json"))


@csrf_exempt
@require_POST
def baseline_view(request: HttpRequest) -> JsonResponse:
    token = request.POST.get("token", "")
    with connection.cursor() as cursor:
        cursor.execute(_SQL, [hash_token(token)])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"active": False})
    return JsonResponse({"active": row[3] is None, "jti": str(row[0]), "sub": str(row[1])})


@require_GET
def cache_stats_view(request: HttpRequest) -> JsonResponse:
    """This worker process's cache counters (the benchmark samples every worker)."""
    from tokens.validation.cache import process_cache

    cache = process_cache()
    return JsonResponse(cache.stats() if cache is not None else {"pid": None})


@csrf_exempt
@require_POST
def change_view(request: HttpRequest) -> JsonResponse:
    """The two-node mode's changes, made by this node's process through the models."""
    from accounts.models import User
    from trustedapps.models import ResourceServer, TrustedApplication

    change = json.loads(request.body)
    if change["what"] == "user":
        user = User.objects.get(pk=change["id"])
        user.is_active = False
        user.save()
    elif change["what"] == "app":
        app = TrustedApplication.objects.get(pk=change["id"])
        app.is_enabled = False
        app.save()
    elif change["what"] == "secret":
        server = ResourceServer.objects.get(pk=change["id"])
        return JsonResponse(
            {"secret": server.rotate_secret(seen_rotated_at=server.secret_rotated_at)}
        )
    return JsonResponse({})

"""The benchmark's baseline: the least a database-checked token can cost on this machine.

The same POST body as an introspection, the same SHA-256, one indexed SELECT of the token row by
its hash through a raw cursor, and a small JSON answer. No caller authentication, no rule.
"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tokens.format import hash_token
from tokens.models import ReferenceToken

_SQL = (
    "SELECT id, user_id, expires_at, revoked_at FROM "  # noqa: S608
    + ReferenceToken._meta.db_table
    + " WHERE token_hash = %s"
)


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

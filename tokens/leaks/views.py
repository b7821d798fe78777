"""The endpoints secret scanners call with the tokens they found (issue 24).

Each reads its raw body once (within LEAKS_MAX_BODY_BYTES), proves who is calling, then hands
the tokens to `reports.report_leaks`, which revokes the real ones. Errors are `{"error": ...}`
answers as on the other public endpoints; nothing is revoked unless the caller is proven.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from common.http import no_store, remote_address
from common.logs import security_event
from common.middleware import lean, outage_response
from tokens.leaks.github import KeysUnavailable, SignatureRefused, process_keys
from tokens.leaks.reports import Report, Source, lenient_url, report_leaks
from tokens.validation.protocol import (
    BadRequest,
    MethodNotAllowed,
    Refusal,
    read_body,
)

View = Callable[..., HttpResponse]


class NotSigned(Refusal):
    status = 401
    error = "invalid_signature"


class Unavailable(Refusal):
    status = 503
    error = "temporarily_unavailable"

    def response(self) -> JsonResponse:
        response = super().response()
        response["Retry-After"] = "60"
        return response


def leak_endpoint(*methods: str) -> Callable[[View], View]:
    """A CSRF-exempt, lean endpoint answering only `methods`; every Refusal becomes its answer,
    a database outage a 503, and nothing is cached."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise MethodNotAllowed(methods)
                response = view(request, *args, **kwargs)
            except Refusal as refusal:
                response = refusal.response()
            except DatabaseError as error:
                outage = outage_response(request, error)
                if outage is None:
                    raise
                response = outage
            return no_store(response)

        return lean(csrf_exempt(wrapper))

    return decorate


def parse_json(body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8.") from None
    except RecursionError:
        raise BadRequest("The JSON body nests too deeply.") from None
    except ValueError:
        raise BadRequest("The body is not valid JSON.") from None


def _github_items(parsed: object) -> list[dict[str, object]]:
    if not isinstance(parsed, list):
        raise BadRequest("The body must be a JSON array of {token, type, url, source} objects.")
    for n, item in enumerate(parsed):
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise BadRequest(f"Item {n} is not an object with a string token.")
        if not isinstance(item.get("type", ""), str):
            raise BadRequest(f"Item {n} has a type that is not a string.")
    return parsed


@leak_endpoint("POST")
def github_view(request: HttpRequest) -> HttpResponse:
    """GitHub secret scanning: a signed batch of tokens found in public; revoke ours, and answer
    GitHub's feedback (each token's SHA-256, never the token, labelled true or false positive)."""
    body = read_body(request, settings.LEAKS_MAX_BODY_BYTES)
    try:
        process_keys().verify(
            body,
            request.META.get("HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER", ""),
            request.META.get("HTTP_GITHUB_PUBLIC_KEY_SIGNATURE", ""),
        )
    except KeysUnavailable:
        raise Unavailable("GitHub's signing keys cannot be read just now.") from None
    except SignatureRefused as refused:
        security_event("leaks.github.refused", level=logging.WARNING, reason=str(refused))
        raise NotSigned(str(refused)) from None
    items = _github_items(parse_json(body))
    reports = [Report(str(item["token"]), lenient_url(item.get("url"))) for item in items]
    outcomes = report_leaks(reports, source=Source.GITHUB, ip=remote_address(request))
    feedback = [
        {
            "token_hash": hashlib.sha256(report.token.encode("utf-8", "surrogatepass")).hexdigest(),
            "token_type": item.get("type", ""),
            "label": "true_positive" if outcome.true_positive else "false_positive",
        }
        for item, report, outcome in zip(items, reports, outcomes, strict=True)
    ]
    return JsonResponse(feedback, safe=False)

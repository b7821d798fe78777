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
from django.views.decorators.debug import sensitive_variables

from common.http import no_store, remote_address
from common.logs import security_event
from common.middleware import lean, outage_response
from tokens.leaks.github import KeysUnavailable, SignatureRefused, process_keys
from tokens.leaks.models import LeakReporter
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

    headers = {"Retry-After": "60"}


def leak_endpoint(*methods: str) -> Callable[[View], View]:
    """A CSRF-exempt, lean endpoint answering only `methods` (HEAD too, where GET is); every
    Refusal becomes its answer, a database outage a 503, and nothing is cached."""

    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view: View) -> View:
        # Error reports hide the locals of this frame and every frame beneath: tokens, secrets.
        @functools.wraps(view)
        @sensitive_variables()
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise MethodNotAllowed(allowed)
                response = view(request, *args, **kwargs)
            except Refusal as refusal:
                response = refusal.response()
            except DatabaseError as error:
                outage = outage_response(request, error)
                if outage is None:
                    raise
                response = outage
            if request.method == "HEAD":  # as GET, without the body (RFC 9110 section 9.3.2)
                response["Content-Length"] = str(len(response.content))
                response.content = b""
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


# --- GitLab's Token Revocation API -------------------------------------------------------------

# The `type` GitLab sends: "gitleaks_rule_id_" + the id of the gitleaks rule that matched (the
# rule of docs/leaked-tokens.md).
GITLAB_TOKEN_TYPES = ("gitleaks_rule_id_enrt_reference_token",)


class NotAuthorized(Refusal):
    status = 401
    error = "unauthorized"

    headers = {"WWW-Authenticate": 'Bearer realm="token-portal"'}


class TooManyRequests(Refusal):
    status = 429
    error = "rate_limited"

    headers = {"Retry-After": "60"}


def gitlab_reporter(request: HttpRequest) -> LeakReporter:
    """The reporter whose pre-shared secret the request carries, within its rate limit.

    GitLab sends the secret as the whole `Authorization` header; `Bearer <secret>` works too.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    scheme, _, rest = header.partition(" ")
    secret = rest.strip() if scheme.lower() == "bearer" else header
    reporter = LeakReporter.objects.with_secret(secret)
    if reporter is None:
        if header:
            security_event("leaks.gitlab.refused", level=logging.WARNING, reason="bad secret")
        raise NotAuthorized("Send the pre-shared secret made in the portal's admin.")
    if not reporter.take_request():
        raise TooManyRequests(f"At most {settings.LEAKS_RATE_LIMIT_PER_MINUTE} requests a minute.")
    return reporter


@leak_endpoint("GET")
def gitlab_token_types_view(request: HttpRequest) -> HttpResponse:
    """GET /v1/revocable_token_types: the `type` values that revoke_tokens accepts."""
    gitlab_reporter(request)
    return JsonResponse({"types": list(GITLAB_TOKEN_TYPES)})


def _gitlab_items(parsed: object) -> list[dict[str, object]]:
    if not isinstance(parsed, list):
        raise BadRequest("The body must be a JSON array of {type, token, location} objects.")
    for n, item in enumerate(parsed):
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise BadRequest(f"Item {n} is not an object with a string token.")
        if item.get("type") not in GITLAB_TOKEN_TYPES:
            raise BadRequest(
                f"Item {n} has a type this API does not revoke; see revocable_token_types."
            )
        if not isinstance(item.get("location", ""), str | None):
            raise BadRequest(f"Item {n} has a location that is not a string.")
    return parsed


@leak_endpoint("POST")
def gitlab_revoke_tokens_view(request: HttpRequest) -> HttpResponse:
    """POST /v1/revoke_tokens: revoke ours among the tokens GitLab found; 204 when accepted.

    Idempotent: a token reported again is left as it is (and its owner is not told twice).
    """
    gitlab_reporter(request)
    items = _gitlab_items(parse_json(read_body(request, settings.LEAKS_MAX_BODY_BYTES)))
    reports = [Report(str(item["token"]), lenient_url(item.get("location"))) for item in items]
    report_leaks(reports, source=Source.GITLAB, ip=remote_address(request))
    return HttpResponse(status=204)

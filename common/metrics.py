"""The portal's Prometheus metrics, and GET /metrics for the scraper.

Under gunicorn each worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set (the
server's configuration does it), prometheus-client writes every worker's values to files there
and /metrics adds them up, whichever worker answers the scrape.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from common.http import no_store, remote_address

VALIDATION_REQUESTS = Counter(
    "portal_validation_requests",
    "Requests to the validation URL, by outcome (active, inactive, invalid_client, "
    "invalid_request, error).",
    ["outcome"],
)
VALIDATION_SECONDS = Histogram(
    "portal_validation_duration_seconds",
    "Time to answer the validation URL.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# Token lifetime rules (issue 23): what report-only mode would have refused, blocking nothing.
VALIDATION_WOULD_REFUSE = Counter(
    "portal_validation_would_refuse",
    "Checks answered active that a token lifetime rule in report mode would have refused, "
    "by token kind.",
    ["kind"],
)
# Forward auth (issue 25): the gateways' check, beside the validation URL's figures.
FORWARD_AUTH_REQUESTS = Counter(
    "portal_forward_auth_requests",
    "Requests to /connect/forward-auth, by outcome (allowed, invalid_token, "
    "insufficient_scope, invalid_gateway, error).",
    ["outcome"],
)
FORWARD_AUTH_SECONDS = Histogram(
    "portal_forward_auth_duration_seconds",
    "Time to answer /connect/forward-auth.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
TOKENS_ISSUED = Counter("portal_tokens_issued", "Tokens issued, by kind.", ["kind"])
TOKENS_REVOKED = Counter("portal_tokens_revoked", "Tokens revoked, by kind.", ["kind"])
TOKENS_ROTATED = Counter("portal_tokens_rotated", "Tokens replaced by rotation, by kind.", ["kind"])
# Leaked tokens (issue 24): reports by source (github, gitlab, holder, scan) and outcome
# (revoked, already_revoked, unknown, malformed).
LEAK_REPORTS = Counter(
    "portal_leak_reports",
    "Tokens reported as leaked, by source and outcome.",
    ["source", "outcome"],
)
SIGNIN_FAILURES = Counter("portal_signin_failures", "Failed sign-ins.")
SIGNIN_LOCKOUTS = Counter("portal_signin_lockouts", "Sign-ins refused by the failure limit.")
DATABASE_ERRORS = Counter(
    "portal_database_errors", "Requests answered 503 because the database failed or timed out."
)


@cache
def _networks(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)


def _bearer_matches(request: HttpRequest) -> bool:
    expected = settings.METRICS_BEARER_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return (
        bool(expected)
        and scheme.lower() == "bearer"
        and secrets.compare_digest(given.strip().encode(), expected.encode())
    )


def _from_allowed_network(request: HttpRequest) -> bool:
    if settings.TRUSTED_PROXY_COUNT == 0 and "HTTP_X_FORWARDED_FOR" in request.META:
        # Came through a proxy the portal was not told about: the peer (the proxy, often on
        # loopback) says nothing about the caller.
        return False
    try:
        address = ipaddress.ip_address(remote_address(request) or "")
    except ValueError:
        return False
    return any(address in n for n in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not (_bearer_matches(request) or _from_allowed_network(request)):
        return no_store(
            HttpResponse(
                "Metrics are served to METRICS_ALLOWED_NETWORKS, or with the bearer secret "
                "METRICS_BEARER_TOKEN.\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return no_store(HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST))

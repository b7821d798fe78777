"""Request-wide concerns: a request id for the logs, the database's limits for web requests, and
the public endpoints' short way past the middleware that only the HTML pages need.

Resource servers call the validation URL on every API request of theirs; sessions, CSRF, the
sign-in lockout, messages and htmx do nothing for them but cost about as much as a cached check
(make bench measures it). Views marked with `lean` are called straight from
LeanEndpointMiddleware: the middleware above it (request id, security headers, CSP, static files,
statement timeouts) still runs, and so does Django's error handling, which wraps every middleware.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from common.http import remote_address
from common.logs import RequestContext, current_request
from common.metrics import DATABASE_ERRORS

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# A proxy's id (nginx's $request_id is 32 hex digits) is kept when it is plainly an id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Resource servers call these on every API call of theirs: a stuck one must fail fast.
VALIDATION_URL_NAMES = {"introspect", "token-self"}


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        request.client_ip = remote_address(request)
        reset = current_request.set(RequestContext(request_id, request.client_ip))
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(reset)
        response["X-Request-ID"] = request_id
        return response


def _statement_timeout(request: HttpRequest) -> int | None:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in VALIDATION_URL_NAMES:
        timeout = settings.DATABASE_VALIDATION_STATEMENT_TIMEOUT
    else:
        timeout = settings.DATABASE_STATEMENT_TIMEOUT
    # 0: no limit of the portal's; the role's or the server's default applies.
    return timeout or None


def _limit_statements(request: HttpRequest, execute, sql, params, many, context):
    """Set the connection's statement_timeout for this kind of request, when it differs.

    The setting stays on the connection (persistent, one per worker), so a worker serving one
    kind of request in a row sends no extra statement; only a change of kind costs one SET
    (~0.13 ms here, against ~2 ms for a whole validation request). Inside a transaction a SET
    would be undone by a rollback, so it waits for the next query outside one.
    """
    db: BaseDatabaseWrapper = context["connection"]
    timeout = _statement_timeout(request)
    if getattr(db, "portal_statement_timeout", None) != timeout and not db.in_atomic_block:
        with db.connection.cursor() as cursor:
            if timeout is None:
                cursor.execute("SET statement_timeout TO DEFAULT")
            else:
                cursor.execute(f"SET statement_timeout = {int(timeout)}")
        db.portal_statement_timeout = timeout
    return execute(sql, params, many, context)


def forget_statement_timeout(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    # A new connection starts with the server's default (connection_created, see apps.py).
    connection.portal_statement_timeout = None


class DatabaseTimeoutMiddleware:
    """Limits web requests' statements on PostgreSQL; a database that fails answers 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if connection.vendor != "postgresql":
            return self.get_response(request)
        with connection.execute_wrapper(partial(_limit_statements, request)):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Timeouts, lost connections, a database that is down: the caller should come back
        # later. Other database errors are bugs and stay 500s.
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        DATABASE_ERRORS.inc()
        logger.error("Database unavailable: %s", type(exception).__name__)
        response = HttpResponse(
            "The service is briefly unavailable. Please try again in a few seconds.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


View = TypeVar("View", bound=Callable[..., HttpResponse])


def lean(view: View) -> View:
    """Mark a view that needs no session, user, CSRF check, message or lockout."""
    view.lean_endpoint = True  # type: ignore[attr-defined]
    return view


class LeanEndpointMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not getattr(match.func, "lean_endpoint", False):
            return self.get_response(request)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)

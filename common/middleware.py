"""Middleware of the portal: request ids, the database's limits, the public endpoints' short
cut, and the HTML pages' edge guards.

- `RequestIdMiddleware`: every log line of a request, and its response, carry one request id.
- `DatabaseTimeoutMiddleware`: statement timeouts for web requests on PostgreSQL, shorter for the
  views marked `validation_url`.
- `LeanEndpointMiddleware` sends the public endpoints past the middleware that only the HTML pages
  need. Resource servers call the validation URL on every API request of theirs; sessions, CSRF,
  the sign-in lockout, messages and htmx do nothing for them but cost about as much as a cached
  check (make bench measures it). Views marked with `lean` are called straight from there: the
  middleware above it (request id, security headers, CSP, static files, statement timeouts) still
  runs, and so does Django's error handling, which wraps every middleware.
- `AdminQueryGuardMiddleware`: hostile bytes in admin lists; `DatabaseOutageMiddleware`: the
  portal's 503 page when the database has gone away.

Whether a database error is an outage (503, come back later) or a bug (500) is decided in one
place, `outage_response`, wherever the error was raised: in a view, in the statement-timeout
hook, while the session loads or saves, at a public endpoint.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from django.conf import settings
from django.contrib.admin.views.main import ERROR_FLAG
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import loader
from django.urls import Resolver404, ResolverMatch, resolve, reverse

from common.db import RETRY_AFTER_SECONDS, is_outage, outage_log
from common.http import no_store, remote_address
from common.logs import RequestContext, current_request
from common.metrics import DATABASE_ERRORS

# A proxy's id (nginx's $request_id is 32 hex digits) is kept when it is plainly an id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        client_ip = remote_address(request)
        # For the views and the access log; HttpRequest has no such attributes of its own.
        request.request_id = request_id  # type: ignore[attr-defined]
        request.client_ip = client_ip  # type: ignore[attr-defined]
        reset = current_request.set(RequestContext(request_id, client_ip))
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(reset)
        response["X-Request-ID"] = request_id
        return response


def _statement_timeout(request: HttpRequest) -> int | None:
    match = getattr(request, "resolver_match", None)
    if match is not None and getattr(match.func, "validation_url", False):
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

    The SET goes through the driver's own cursor, so its errors are translated here as Django
    translates every other statement's: a connection that died under it is then an
    OperationalError like any other (an outage, a 503), and Django knows the connection is
    broken, instead of a driver error that no handler recognises (a 500).
    """
    db: BaseDatabaseWrapper = context["connection"]
    timeout = _statement_timeout(request)
    if getattr(db, "portal_statement_timeout", None) != timeout and not db.in_atomic_block:
        with db.wrap_database_errors, db.connection.cursor() as cursor:
            if timeout is None:
                cursor.execute("SET statement_timeout TO DEFAULT")
            else:
                cursor.execute(f"SET statement_timeout = {int(timeout)}")
        setattr(db, "portal_statement_timeout", timeout)  # noqa: B010 - our mark on the connection
    return execute(sql, params, many, context)


def forget_statement_timeout(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    # A new connection starts with the server's default (connection_created, see apps.py).
    setattr(connection, "portal_statement_timeout", None)  # noqa: B010 - our mark, as above


class DatabaseTimeoutMiddleware:
    """Limits web requests' statements on PostgreSQL. A statement cut short is an outage, which
    `outage_response` answers with a 503 wherever it surfaces."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if connection.vendor != "postgresql":
            return self.get_response(request)
        with connection.execute_wrapper(partial(_limit_statements, request)):
            return self.get_response(request)


View = TypeVar("View", bound=Callable[..., HttpResponse])


def lean(view: View) -> View:
    """Mark a view that needs no session, user, CSRF check, message or lockout."""
    view.lean_endpoint = True  # type: ignore[attr-defined]
    return view


def validation_url(view: View) -> View:
    """Mark a view that resource servers call on every API call of theirs: its statements run
    under the shorter DATABASE_VALIDATION_STATEMENT_TIMEOUT, so a stuck one fails fast."""
    view.validation_url = True  # type: ignore[attr-defined]
    return view


class LeanEndpointMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Path -> its match, for lean endpoints without arguments only: a handful of entries,
        # whatever paths callers send. Resolving walks the URL patterns (~10 us, as much as the
        # rest of a cached check); a dictionary lookup does not.
        self.lean_paths: dict[str, ResolverMatch] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        match = self.lean_paths.get(path)
        if match is None:
            try:
                match = resolve(path)
            except Resolver404:
                return self.get_response(request)
            if not getattr(match.func, "lean_endpoint", False):
                return self.get_response(request)
            if not match.args and not match.kwargs:
                self.lean_paths[path] = match
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


def is_lean(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(getattr(getattr(match, "func", None), "lean_endpoint", False))


def outage_response(request: HttpRequest, error: BaseException) -> HttpResponse | None:
    """The answer to a database error met while serving `request`, or None when it is a bug.

    An outage (common.db.is_outage: the database is down, unreachable, overloaded, or a
    statement ran past its timeout) is worth a retry: 503 with Retry-After, as JSON on the
    public endpoints (resource servers read it), as the portal's page elsewhere; logged once per
    outage and counted. Any other database error (a missing table, a value the database
    refuses) is a bug: None, and Django's 500 follows, with its report.
    """
    if not is_outage(error):
        return None
    outage_log.refused(error, request.path)
    # Read by common.logs.NotAnAnsweredOutage.
    request.answered_as_outage = True  # type: ignore[attr-defined]
    DATABASE_ERRORS.inc()
    if not is_lean(request):
        return outage_page()
    response = JsonResponse({"error": "temporarily_unavailable"}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return no_store(response)


def outage_page(request: HttpRequest | None = None) -> HttpResponse:
    """The portal's "try again shortly" page: 503 with Retry-After.

    Rendered without the request, so that no context processor reaches for the session or the
    signed-in user, which live in the database that is gone.
    """
    html = loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseOutageMiddleware:
    """A view that finds the database out of reach answers the outage page, not a 500.

    Queries the database refused (a bug, a hostile value) stay errors. Outages met outside views
    (a session saved by its middleware) reach `common.views.server_error`, which does the same.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return outage_response(request, exception)


class AdminQueryGuardMiddleware:
    """Admin lists never send PostgreSQL a value it refuses: a NUL in a filter or search.

    Such a value makes the query fail as it runs, past the admin's own checks (a 500). The
    admin's answer to any unusable filter is a redirect to the bare list with `?e=1`, so that is
    what a NUL anywhere in an admin address gets, before any query.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if request.path.startswith(self.prefix) and _has_nul(request):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return self.get_response(request)


def _has_nul(request: HttpRequest) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )

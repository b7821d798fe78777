"""Middleware of the portal: the public endpoints' short cut, and the HTML pages' edge guards.

- `LeanEndpointMiddleware` sends the public endpoints past the middleware that only the HTML pages
  need. Resource servers call the validation URL on every API request of theirs; sessions, CSRF,
  the sign-in lockout, messages and htmx do nothing for them but cost about as much as a cached
  check (make bench measures it). Views marked with `lean` are called straight from there: the
  middleware above it (security headers, X-Frame-Options, static files) still runs, and so does
  Django's error handling, which wraps every middleware.
- `AdminQueryGuardMiddleware`: hostile bytes in admin lists; `DatabaseOutageMiddleware`: the
  portal's 503 page when the database has gone away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib.admin.views.main import ERROR_FLAG
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import loader
from django.urls import Resolver404, resolve, reverse

from common.db import RETRY_AFTER_SECONDS, is_outage, outage_log

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
        if not is_outage(exception):
            return None
        outage_log.refused(exception, request.path)
        return outage_page()


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

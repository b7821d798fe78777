"""Send the public endpoints past the middleware that only the HTML pages need.

Resource servers call the validation URL on every API request of theirs; sessions, CSRF, the
sign-in lockout, messages and htmx do nothing for them but cost about as much as a cached check
(make bench measures it). Views marked with `lean` are called straight from here: the middleware
above this one (security headers, X-Frame-Options, static files) still runs, and so does
Django's error handling, which wraps every middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

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

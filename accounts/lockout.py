"""Failed sign-ins: django-axes' cool-off per username and address, and a second per username.

django-axes counts failures per (username, address) and locks that pair for the cool-off after
AXES_FAILURE_LIMIT of them: someone guessing from one place is slowed, and the person signing in
from anywhere else is not. Guessing one password from many addresses is never slowed that way,
so this module adds a higher limit per username, whatever the addresses: after
AXES_USERNAME_FAILURE_LIMIT failures within the cool-off, sign-in with that username's password
pauses for everyone until those failures are a cool-off old.

axes has a single failure limit for all of its lockout parameters (it compares the largest count
with it), so the second limit is counted here, over axes' own records (one per username, address
and browser), through axes' documented extension point, the handler (AXES_HANDLER).

The lock never lasts for ever: attempts refused by it are not counted (they test no password),
so it ends one cool-off after the failure that set it, and setting it again takes as many new
failures from several addresses. A password is what it holds back: a sign-in that gives axes no
username (a passkey, when django-allauth brings them) never meets it, and a second factor's
sign-in can be let past it where `locked_across_addresses` is asked (the password alone then
opens nothing); the per-address limit still applies.
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

# Marks a request refused by the limit per username (read by lockout_response).
_ACROSS_ADDRESSES = "locked_across_addresses"


def _recent() -> QuerySet[AccessAttempt]:
    """axes' records of failures within the cool-off (axes deletes older ones as it goes)."""
    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - get_cool_off())


def locked_across_addresses(username: str | None) -> bool:
    """Whether signing in as `username` with a password is paused, whatever the address."""
    if not username:
        return False
    failures = _recent().filter(username=username).aggregate(n=Sum("failures_since_start"))["n"]
    return (failures or 0) >= settings.AXES_USERNAME_FAILURE_LIMIT


def locked_attempts() -> QuerySet[AccessAttempt]:
    """The records that keep someone from signing in now: a username and address at axes'
    limit, or every record of a username at the limit across addresses."""
    recent = _recent()
    over = (
        recent.values("username")
        .annotate(total=Sum("failures_since_start"))
        .filter(total__gte=settings.AXES_USERNAME_FAILURE_LIMIT)
        .values("username")
    )
    return recent.filter(
        Q(failures_since_start__gte=settings.AXES_FAILURE_LIMIT) | Q(username__in=over)
    )


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler, with the limit per username as well."""

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        if locked_across_addresses(get_client_username(request, credentials)):
            setattr(request, _ACROSS_ADDRESSES, True)
            return True
        return False

    def user_login_failed(
        self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        if request is not None and getattr(request, _ACROSS_ADDRESSES, False):
            # Refused before any password was checked: not a guess, and not counted, so the
            # lock ends one cool-off after the failure that set it.
            self._lock_out(request, credentials)
            return
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if locked_across_addresses(get_client_username(request, credentials)):
            setattr(request, _ACROSS_ADDRESSES, True)
            self._lock_out(request, credentials)

    def _lock_out(self, request: HttpRequest, credentials: dict) -> None:
        # What axes does for its own lockouts: AxesMiddleware answers with lockout_response,
        # and the signal is logged and counted (accounts/signals.py).
        request.axes_locked_out = True  # type: ignore[attr-defined]
        request.axes_credentials = credentials  # type: ignore[attr-defined]
        user_locked_out.send(
            "axes",
            request=request,
            username=get_client_username(request, credentials),
            ip_address=getattr(request, "axes_ip_address", None),
        )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The 429 page (AXES_LOCKOUT_CALLABLE), saying which of the two limits holds."""
    across = bool(getattr(request, _ACROSS_ADDRESSES, False))
    context = {
        "username": get_client_username(request, credentials) or "",
        "across_addresses": across,
        "failure_limit": (
            settings.AXES_USERNAME_FAILURE_LIMIT if across else settings.AXES_FAILURE_LIMIT
        ),
        "cooloff_timedelta": get_cool_off(request),
    }
    return render(
        request, "accounts/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )

"""How long a signed-in session lasts: SESSION_IDLE_TIMEOUT without a request, and
SESSION_ABSOLUTE_TIMEOUT after signing in, however busy.

Both are kept as the session's own expiry date (the database row's and the cookie's), the
earlier of the two, so Django itself refuses an expired session as it loads it: no check of ours
runs per request. Activity moves the date on, but at most once every ACTIVITY_INTERVAL: someone
reading pages costs one session write every five minutes, not one per page. The idle timeout is
so counted from the last write, and may end a session up to five minutes early, never late.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

SIGNED_IN_AT = "signed_in_at"
ACTIVE_AT = "active_at"
# Seconds between two writes of a session's activity.
ACTIVITY_INTERVAL = 5 * 60


def _stay_active(session: SessionBase, now: int) -> None:
    session[ACTIVE_AT] = now
    signed_in = session.setdefault(SIGNED_IN_AT, now)
    ends = min(now + settings.SESSION_IDLE_TIMEOUT, signed_in + settings.SESSION_ABSOLUTE_TIMEOUT)
    # A date, not a number of seconds: any other write of the session (a message, sudo mode)
    # keeps it, instead of counting the seconds again from that write.
    session.set_expiry(datetime.fromtimestamp(ends, tz=UTC))


@receiver(user_logged_in, dispatch_uid="portal-session-signed-in")
def _signed_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        start_clock(request.session)


def start_clock(session: SessionBase) -> None:
    """Both timeouts count from now: the person has just signed in."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    _stay_active(session, now)


class SessionActivityMiddleware:
    """Moves a signed-in session's expiry on, at most every ACTIVITY_INTERVAL seconds.

    After the view, which has loaded the session (every page of a signed-in person does), so
    this costs no query of its own and a database that fails meets the view first, where the
    outage page answers. A failed request (5xx) is no activity. A session signed in before
    these timeouts existed has no stamps: its first page gives it them, counting from then.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = request.session
        if response.status_code < 500 and SESSION_KEY in session:
            now = int(time.time())
            active = session.get(ACTIVE_AT)
            if not isinstance(active, int) or now - active >= ACTIVITY_INTERVAL:
                _stay_active(session, now)
                _seen(session)
        return response


def _seen(session: SessionBase) -> None:
    """The signed-in sessions list's "last activity" (allauth.usersessions), written with the
    session's own activity: at most every ACTIVITY_INTERVAL, never on every request."""
    from allauth.usersessions.models import UserSession
    from django.utils import timezone

    if session.session_key:
        UserSession.objects.filter(session_key=session.session_key).update(
            last_seen_at=timezone.now()
        )

"""Account events (issue 21): signing in, second factors, passwords, sessions.

Each is a named security event in the logs (with the request id and the caller's address, as
token events are) and a count in /metrics by name. Never a secret among the fields.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from prometheus_client import Counter

from common.logs import security_event

ACCOUNT_EVENTS = Counter(
    "portal_account_events",
    "Account events (sign-ins, second factors added or removed, recovery codes used, password "
    "changes, sessions ended), by event.",
    ["event"],
)


def account_event(
    request: HttpRequest | None,
    event: str,
    *,
    user: object = None,
    level: int = logging.INFO,
    **fields: object,
) -> None:
    """Log and count one account event of `user` (the signed-in person by default)."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    username = user.get_username() if user is not None and hasattr(user, "get_username") else None
    ACCOUNT_EVENTS.labels(event=event).inc()
    security_event(event, level=level, username=username, **fields)

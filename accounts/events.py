"""Account events (issue 21): signing in, second factors, passwords, sessions.

Each is a row of the account's audit trail (accounts.AccountEvent: time, address, request id),
a named security event in the logs (with the same request id and address, as token events
are) and a count in /metrics by name. Never a secret among the fields.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from prometheus_client import Counter

from common.http import remote_address
from common.logs import current_request, security_event

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
    user: Any = None,
    level: int = logging.INFO,
    log: bool = True,
    **fields: object,
) -> None:
    """Record, log and count one account event of `user` (the signed-in person by default)."""
    from accounts.models import AccountEvent

    if user is None and request is not None:
        user = getattr(request, "user", None)
    known = user is not None and getattr(user, "pk", None) is not None
    username = user.get_username() if known else None
    ACCOUNT_EVENTS.labels(event=event).inc()
    if log:  # False where the caller logged the event under a name of its own already
        security_event(event, level=level, username=username, **fields)
    if known:
        context = current_request.get()
        detail = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        AccountEvent.objects.create(
            user=user,
            event=event,
            ip=remote_address(request) if request is not None else None,
            request_id=context.request_id if context else "",
            detail=detail[:200],
        )

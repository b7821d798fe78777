"""Expiry reminders on the instance's schedule (issue 23): which one a token is due, once each.

The schedule is the instance's (`InstanceTokenPolicy.reminder_stages`: days before expiry,
largest first, 0 for "on expiry"; by default 30, 7, 1 and 0). A token records the last stage it
was sent (`expiry_reminder_days`), so each stage goes once per token, and only the most urgent
one due: after missed runs the owner gets one message that still means something, not three.

A stage counts only if its moment (that many days before the expiry) came after the token was
made: a token made for 10 days never gets the "within 30 days" reminder, now or later, and one
made for 5 days starts with "tomorrow". The owner who just chose a short lifetime needs no
reminder of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Q

from tokens.models import ReferenceToken

# The "on expiry" notice is sent while a token has been expired for less than this: a run missed
# for a few days still sends it, and switching reminders on does not mail every old token.
EXPIRED_NOTICE_WINDOW = timedelta(days=7)


def due_stage(token: ReferenceToken, stages: Iterable[int], now: datetime) -> int | None:
    """The stage (days before expiry; 0: expired) `token` is due now, ignoring what it was sent."""
    if token.expires_at is None:
        return None
    left = token.expires_at - now
    if left <= timedelta(0):
        return 0 if 0 in stages and -left < EXPIRED_NOTICE_WINDOW else None
    passed = [
        days
        for days in stages
        if days > 0
        and left <= timedelta(days=days)
        and token.expires_at - timedelta(days=days) >= token.created_at
    ]
    return min(passed, default=None)


def is_new_stage(token: ReferenceToken, stage: int) -> bool:
    """Not sent yet: the last reminder it was sent, if any, was an earlier (larger) stage."""
    return token.expiry_reminder_days is None or token.expiry_reminder_days > stage


def candidates(stages: list[int], now: datetime):
    """The unrevoked tokens that may be due a reminder not sent yet, one window per stage.

    Between two stages (expiring after the next smaller one, within this one) a token is due
    this stage at the most urgent, so one that was sent it (or a smaller one) is left out in the
    query: the hourly run reads only the tokens it may have to tell, not every token expiring
    within the largest stage. "On expiry" (0) looks back EXPIRED_NOTICE_WINDOW.
    """
    if not stages:
        return ReferenceToken.objects.none()
    due = Q()
    lower = now - EXPIRED_NOTICE_WINDOW if 0 in stages else now
    for days in sorted(stages):
        upper = now + timedelta(days=days)
        # Both bounds on expires_at (no "IS NULL OR"), so the expires_at index serves them.
        due |= Q(expires_at__gt=lower, expires_at__lte=upper) & (
            Q(expiry_reminder_days__isnull=True) | Q(expiry_reminder_days__gt=days)
        )
        lower = upper
    return (
        ReferenceToken.objects.filter(
            due, revoked_at__isnull=True, application__is_enabled=True, user__is_active=True
        )
        .select_related("user", "application", "created_by")
        .order_by("expires_at", "id")
    )


def claim(tokens: list[ReferenceToken], stage: int) -> list[ReferenceToken]:
    """Record `stage` on each token whose record is still what this run read; the claimed ones.

    Call inside the transaction that sends the reminder: of two runs at once, the second waits
    for the first's row lock, then matches nothing, and sends nothing; a mail error rolls the
    records back, so that the next run tries again.
    """
    claimed = []
    for token in tokens:
        seen = (
            Q(expiry_reminder_days__isnull=True)
            if token.expiry_reminder_days is None
            else Q(expiry_reminder_days=token.expiry_reminder_days)
        )
        if (
            ReferenceToken.objects.filter(seen, pk=token.pk, revoked_at__isnull=True).update(
                expiry_reminder_days=stage
            )
            == 1
        ):
            token.expiry_reminder_days = stage
            claimed.append(token)
    return claimed

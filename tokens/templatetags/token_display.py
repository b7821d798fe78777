"""How a token's dates and status read on its row: "Expires in 3 days", "Never used"."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from tokens.models import ReferenceToken

register = template.Library()


def _ago(moment: datetime, now: datetime) -> str:
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


@register.filter
def expiry_hint(token: ReferenceToken) -> str:
    now = timezone.now()
    if token.expires_at is None:
        return "Never expires"
    if token.expires_at <= now:
        return f"Expired {_ago(token.expires_at, now)}"
    return f"Expires in {timeuntil(token.expires_at, now, depth=1)}"


@register.filter
def last_used_hint(token: ReferenceToken) -> str:
    if token.last_used_at is None:
        return "Never used"
    return _ago(token.last_used_at, timezone.now()).capitalize()

"""How a token's dates and status read on its row: "Expires in 3 days", "Expired 2 days ago"."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from tokens.models import REVOKED_BY_HOLDER, REVOKED_BY_OWNER, ROTATED, ReferenceToken

register = template.Library()


def _ago(moment: datetime, now: datetime) -> str:
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


@register.filter
def expiry_hint(token: ReferenceToken) -> str:
    """ "Expires in 30 days", "Expired 2 days ago", "Never expires"."""
    now = timezone.now()
    if token.expires_at is None:
        return "Never expires"
    verb = "Expired" if token.expires_at <= now else "Expires"
    return f"{verb} {_until(token.expires_at, now)}"


@register.filter
def until_hint(token: ReferenceToken) -> str:
    """The relative half of "Expires 28 Dec 2026 · in 30 days"."""
    if token.expires_at is None:
        return ""
    return _until(token.expires_at, timezone.now())


def _until(moment: datetime, now: datetime) -> str:
    if moment <= now:
        return _ago(moment, now)
    return f"in {timeuntil(moment, now, depth=1)}"


@register.filter
def used_hint(token: ReferenceToken) -> str:
    """The relative half of "Last used 27 Nov 2026 · 3 hours ago"."""
    return _ago(token.last_used_at, timezone.now()) if token.last_used_at else ""


@register.filter
def revoked_by_phrase(token: ReferenceToken, viewer) -> str:
    """Who revoked the token, as its owner reads it: the same facts the admin shows."""
    if token.revoked_by_id is not None:
        if token.revoked_by_id == getattr(viewer, "pk", None):
            return "you"
        return f"an administrator ({token.revoked_by})"
    if token.revocation_reason == REVOKED_BY_HOLDER:
        return "its holder, at the revocation URL"
    return "an administrator, from the command line"


@register.filter
def revocation_reason(token: ReferenceToken) -> str:
    """The reason given, when someone gave one (not the portal's own wording; a rotation says
    "Replaced by ..." with a link instead)."""
    if token.revocation_reason in ("", REVOKED_BY_HOLDER, REVOKED_BY_OWNER, ROTATED):
        return ""
    return token.revocation_reason

"""Unused tokens revoked after the instance's number of days without use (issue 23), the owner
told a week before.

Off unless `InstanceTokenPolicy.unused_revoke_days` is set. "Unused" counts from the token's last
recorded use (`last_used_at`, tokens/validation/last_use.py), or from its creation if it was never
used. A token unused for that many days less a week is warned of (`unused_warned_at`); it is
revoked, with the reason "unused", only once it is unused for the whole limit **and** its owner was
warned at least a week before. A use after the warning makes the warning void: the token is spared,
and a later stretch without use gets a warning of its own. So switching the rule on, or lowering
it, never revokes a token whose owner has not had a week's notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import F, Q
from django.db.models.functions import Coalesce

from tokens.domain import lifecycle
from tokens.models import UNUSED, ReferenceToken
from trustedapps.models import UNUSED_WARNING_DAYS

WARNING = timedelta(days=UNUSED_WARNING_DAYS)
# A warning older than this no longer counts (the rule was off meanwhile, or the command did not
# run): the owner is warned again before anything is revoked.
WARNING_KEPT = timedelta(days=28)


def _last_activity():
    return Coalesce(F("last_used_at"), F("created_at"))


def _warned(now: datetime) -> Q:
    """A warning that still counts: after the token's last use (or creation), not too old."""
    return Q(
        unused_warned_at__isnull=False,
        unused_warned_at__gte=_last_activity(),
        unused_warned_at__gt=now - WARNING_KEPT,
    )


def to_warn(days: int, now: datetime):
    """Live tokens unused for `days` less a week, whose owner has no warning that counts."""
    return (
        ReferenceToken.objects.unused_since(now - timedelta(days=days) + WARNING)
        .exclude(_warned(now))
        .select_related("user", "application", "created_by")
        .order_by("id")
    )


def to_revoke(days: int, now: datetime):
    """Live tokens unused for `days`, whose owner was warned at least a week ago (and since)."""
    return (
        ReferenceToken.objects.unused_since(now - timedelta(days=days))
        .filter(_warned(now))
        .filter(unused_warned_at__lte=now - WARNING)
    )


def claim_warning(tokens: list[ReferenceToken], days: int, now: datetime) -> list[ReferenceToken]:
    """Record the warning on those of `tokens` still due it (live, unused, no warning that counts)
    and return them. Call inside the transaction that sends it: the rows are locked with the
    same conditions, so of two runs at once the second waits for the first, then finds them
    warned (or used meanwhile), and claims nothing."""
    due = set(
        to_warn(days, now)
        .select_related(None)
        .filter(pk__in=[token.pk for token in tokens])
        .select_for_update()
        .values_list("pk", flat=True)
    )
    ReferenceToken.objects.filter(pk__in=due).update(unused_warned_at=now)
    claimed = [token for token in tokens if token.pk in due]
    for token in claimed:
        token.unused_warned_at = now
    return claimed


def revoke(days: int, now: datetime, chunk: int = 500) -> int:
    """Revoke the tokens due (reason "unused", no person: a command did it), `chunk` at a time;
    how many were revoked now.

    `lifecycle.revoke` locks the rows with the same conditions, so a token used (or revoked, or
    revoked by another run) in the meantime is left alone; it records, logs, tells the owners and
    announces each revocation to the validation caches as any other.
    """
    revoked, after = 0, 0
    while True:
        ids = list(
            to_revoke(days, now)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return revoked
        after = ids[-1]
        due = to_revoke(days, now).filter(pk__in=ids).order_by("pk")
        revoked += len(lifecycle.revoke(due, by=None, reason=UNUSED))

from argparse import ArgumentParser
from collections import defaultdict
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tokens.domain.notices import recipients, tokens_expiring
from tokens.models import ExpiryNotice, ReferenceToken

# The two notices: a week ahead, and the day before.
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
_ORDER = {"": 0, ExpiryNotice.WEEK: 1, ExpiryNotice.DAY: 2}


def due_notice(token: ReferenceToken, now: datetime) -> str:
    """The notice a live token expiring within a week is due now ("7d" or "1d")."""
    assert token.expires_at is not None
    return ExpiryNotice.DAY if token.expires_at - now <= DAY else ExpiryNotice.WEEK


class Command(BaseCommand):
    help = (
        "E-mail the owners of tokens that expire within 7 days, and again the day before (a "
        "personal token's owner, unless they turned expiry notices off; for a service token, the "
        "administrator who created it and OPERATIONS_EMAIL). Each token records the notice it "
        "was sent, so running it hourly, twice at once or after a missed day sends each notice "
        "once: a token already within a day of its expiry gets only the 'tomorrow' notice. "
        "Tokens are named by their last characters, never in full. Example: "
        "notify_expiring_tokens --dry-run"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print who would be told; send nothing."
        )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        tokens = (
            ReferenceToken.objects.expiring_within(WEEK, now)
            .filter(application__is_enabled=True, user__is_active=True)
            .exclude(expiry_notice=ExpiryNotice.DAY)
            .select_related("user", "application", "created_by")
            .order_by("expires_at", "id")
        )
        batches: dict[tuple[tuple[str, ...], str], list[ReferenceToken]] = defaultdict(list)
        for token in tokens:
            stage = due_notice(token, now)
            if _ORDER[token.expiry_notice] >= _ORDER[stage]:
                continue
            to = tuple(recipients(token, expiry=True))
            if to:
                batches[to, stage].append(token)

        told = 0
        for (to, stage), batch in batches.items():
            sent = batch if options["dry_run"] else self._send_once(list(to), batch, stage)
            for address in to if sent else ():
                verb = "Would tell" if options["dry_run"] else "Told"
                self.stdout.write(
                    f"{verb} {address} about {len(sent)} token(s) expiring "
                    f"{'tomorrow' if stage == ExpiryNotice.DAY else 'within 7 days'}."
                )
                told += 1
        if not told:
            self.stdout.write("No notice is due.")

    def _send_once(self, to: list[str], batch: list[ReferenceToken], stage: str) -> list:
        """Record the notice on each token, then send it, in one transaction.

        Each record is an UPDATE conditioned on the value this run read: of two runs at once,
        the second waits for the first's row lock, then matches nothing, and sends nothing. A
        mail error rolls the records back, so the next run tries again.
        """
        with transaction.atomic():
            claimed = [
                token
                for token in batch
                if ReferenceToken.objects.filter(
                    pk=token.pk, expiry_notice=token.expiry_notice, revoked_at__isnull=True
                ).update(expiry_notice=stage)
            ]
            if claimed:
                for address in to:
                    tokens_expiring(address, claimed, stage)
        return claimed

from argparse import ArgumentParser
from collections import defaultdict
from datetime import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tokens.domain import unused
from tokens.domain.notices import recipients, tokens_unused
from tokens.models import ReferenceToken
from trustedapps.models import InstanceTokenPolicy

# At most this many tokens are warned of in one transaction and one message.
CHUNK = 500


class Command(BaseCommand):
    help = (
        "Revoke live tokens unused for the number of days set on the admin page Token policies "
        "(off unless set), with the reason 'unused'. Unused counts from the last use, or from "
        "creation if never used. A week before, the owner is warned by e-mail (for a service "
        "token, the administrator who created it and OPERATIONS_EMAIL); a token is revoked only "
        "a week or more after its warning, and a use in between spares it. Each warning is "
        "sent once, even by two runs at once. Run it hourly or daily. Example: "
        "revoke_unused_tokens --dry-run"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be done; change nothing."
        )

    def handle(self, *args, **options) -> None:
        days = InstanceTokenPolicy.current().unused_revoke_days
        if days is None:
            self.stdout.write("Unused tokens are kept: no limit is set on Token policies.")
            return
        now = timezone.now()
        dry_run = options["dry_run"]
        n = unused.to_revoke(days, now).count() if dry_run else unused.revoke(days, now, CHUNK)
        if n:
            verb = "Would revoke" if dry_run else "Revoked"
            self.stdout.write(f"{verb} {n} token(s) unused for {days} days.")
        warned = self._warn(days, now, dry_run)
        if not n and not warned:
            self.stdout.write("Nothing is due.")

    def _warn(self, days: int, now: datetime, dry_run: bool) -> int:
        """Warn the owners, CHUNK tokens at a time (in the order of their ids): one transaction
        and one message per owner and chunk, and memory bounded however many are due."""
        told: dict[str, int] = defaultdict(int)
        unreachable = warned = after = 0
        revoke_on = (now + unused.WARNING).date()
        while page := list(unused.to_warn(days, now).filter(pk__gt=after)[:CHUNK]):
            after = page[-1].pk
            batches: dict[tuple[str, ...], list[ReferenceToken]] = defaultdict(list)
            for token in page:
                batches[tuple(recipients(token))].append(token)
            for to, batch in batches.items():
                sent = batch
                if not dry_run:
                    # Recorded and sent in one transaction: a mail error records nothing, so the
                    # next run warns again (and nothing is revoked without a warning).
                    with transaction.atomic():
                        sent = unused.claim_warning(batch, days, now)
                        for address in to if sent else ():
                            tokens_unused(address, sent, days, revoke_on)
                for address in to:
                    told[address] += len(sent)
                if not to:
                    # Nobody to tell (an owner without e-mail, an inactive account): the week
                    # runs all the same.
                    unreachable += len(sent)
                warned += len(sent)
        verb = "Would warn" if dry_run else "Warned"
        for address, n in told.items():
            if n:
                self.stdout.write(
                    f"{verb} {address} about {n} token(s) unused for {days} days, "
                    f"revoked from {revoke_on:%Y-%m-%d}."
                )
        if unreachable:
            self.stdout.write(f"{unreachable} token(s) unused with nobody to warn.")
        return warned

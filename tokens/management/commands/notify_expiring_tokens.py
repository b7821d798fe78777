from argparse import ArgumentParser
from collections import defaultdict

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tokens.domain import reminders
from tokens.domain.notices import expiry_stage_words, recipients, tokens_expiring
from tokens.models import ReferenceToken
from trustedapps.models import InstanceTokenPolicy


class Command(BaseCommand):
    help = (
        "E-mail the owners of tokens about their expiry on the schedule set on the admin page "
        "Token policies (by default 30, 7 and 1 days before, and on expiry): a personal token's "
        "owner, unless they turned expiry notices off; for a service token, the administrator "
        "who created it and OPERATIONS_EMAIL. Each token records the reminder it was sent, so "
        "running it hourly, twice at once or after a missed day sends each reminder once, and "
        "only the most urgent one due; a token made for less time than a stage never gets that "
        "stage's reminder. Tokens are named by their last characters, never in full. Example: "
        "notify_expiring_tokens --dry-run"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print who would be told; send nothing."
        )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        stages = InstanceTokenPolicy.current().reminder_stages
        batches: dict[tuple[tuple[str, ...], int], list[ReferenceToken]] = defaultdict(list)
        for token in reminders.candidates(stages, now):
            stage = reminders.due_stage(token, stages, now)
            if stage is None or not reminders.is_new_stage(token, stage):
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
                    f"{verb} {address} about {len(sent)} token(s) {expiry_stage_words(stage)}."
                )
                told += 1
        if not told:
            self.stdout.write("No notice is due.")

    def _send_once(self, to: list[str], batch: list[ReferenceToken], stage: int) -> list:
        """Record the reminder on each token, then send it, in one transaction (see `claim`)."""
        with transaction.atomic():
            claimed = reminders.claim(batch, stage)
            if claimed:
                for address in to:
                    tokens_expiring(address, claimed, stage)
        return claimed

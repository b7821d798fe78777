from argparse import ArgumentParser
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from common.cli import positive_int
from tokens.models import ReferenceToken

DEFAULT_RETENTION_DAYS = 90


class Command(BaseCommand):
    help = (
        "Delete tokens (and their audit events) revoked or expired more than --days ago. "
        "Active tokens are never touched. Example: purge_tokens --days 180 --dry-run"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=positive_int,
            default=DEFAULT_RETENTION_DAYS,
            metavar="N",
            help=f"How long a dead token is kept for the audit trail (default: "
            f"{DEFAULT_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count what would be deleted."
        )

    def handle(self, *args, **options) -> None:
        cutoff = timezone.now() - timedelta(days=options["days"])
        dead = ReferenceToken.objects.dead_before(cutoff)
        if options["dry_run"]:
            count = dead.count()
            self.stdout.write(
                f"Would delete {count} token(s) revoked or expired before {cutoff:%Y-%m-%d}."
            )
            return
        with transaction.atomic():
            count = dead.count()
            dead.delete()
        self.stdout.write(f"Deleted {count} token(s) revoked or expired before {cutoff:%Y-%m-%d}.")

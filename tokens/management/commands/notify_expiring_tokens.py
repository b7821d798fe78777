from argparse import ArgumentParser
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import User
from common.cli import positive_int
from tokens.models import ReferenceToken, TokenKind

DEFAULT_DAYS = 7


class Command(BaseCommand):
    help = (
        "E-mail the owners of tokens that expire within --days (a personal token's owner; for a "
        "service token, the administrator who created it), one message per person, through "
        "Django's e-mail backend. Tokens are named by their last characters, never in full. "
        "Run it once every --days days (e.g. weekly with the default) so nobody is told twice. "
        "Example: notify_expiring_tokens --days 7 --dry-run"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=positive_int,
            default=DEFAULT_DAYS,
            metavar="N",
            help=f"Tokens expiring within this many days (default: {DEFAULT_DAYS}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print who would be told, send nothing."
        )

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        tokens = (
            ReferenceToken.objects.expiring_within(timedelta(days=options["days"]), now)
            .filter(application__is_enabled=True, user__is_active=True)
            .select_related("user", "application", "created_by")
            .order_by("expires_at", "id")
        )
        by_recipient: dict[User, list[ReferenceToken]] = defaultdict(list)
        for token in tokens:
            recipient = token.user if token.kind == TokenKind.PERSONAL else token.created_by
            if recipient is not None and recipient.is_active and recipient.email:
                by_recipient[recipient].append(token)

        for recipient, owned in by_recipient.items():
            verb = "Would tell" if options["dry_run"] else "Told"
            self.stdout.write(f"{verb} {recipient.email} about {len(owned)} token(s).")
            if not options["dry_run"]:
                send_mail(
                    subject=f"{len(owned)} access token(s) expire soon",
                    message=_message(recipient, owned),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[recipient.email],
                )
        if not by_recipient:
            self.stdout.write("No token expires within the period.")


def _message(recipient: User, tokens: list[ReferenceToken]) -> str:
    lines = [
        f"Hello {recipient.get_short_name() or recipient.username},",
        "",
        "These access tokens expire soon. Issue a replacement before then if they are "
        "still needed; they cannot be extended.",
        "",
    ]
    for token in tokens:
        lines.append(
            f"- {token.masked} {token.get_kind_display().lower()} for "
            f"{token.application.name} ({token.description or 'no description'}), "
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    return "\n".join(lines) + "\n"

from argparse import ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from common.cli import note, positive_int, refusal
from tokens.domain import lifecycle
from tokens.management.cli import token_given


class Command(BaseCommand):
    help = (
        "Rotate a live reference token: issue its replacement (same application, user, "
        "description, scopes and creator; by default as many days as it was given, within the "
        "application's longest, stopping at 00:00 UTC) and revoke it with the reason 'rotated', "
        "in one transaction. The new token is "
        "printed alone on stdout, the only time it is shown. Give the token's number, the token, "
        "or '-' to read the token from stdin (keeping it out of the shell history). Example: "
        "NEW=$(printf '%s\\n' \"$OLD\" | manage.py rotate_token -)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "token", metavar="ID_OR_TOKEN", help="The token's number, an enrt_ token, or '-'."
        )
        parser.add_argument(
            "--expires-in-days",
            type=positive_int,
            metavar="N",
            help="Lifetime of the new token in days from today, at most as many as the old "
            "token was given and its application allows (default: as many as it was given).",
        )

    def handle(self, *args, **options) -> None:
        old = token_given(options["token"])
        try:
            issued = lifecycle.rotate(old, by=None, expires_in_days=options["expires_in_days"])
        except ValidationError as error:
            raise refusal(error) from None
        new = issued.token
        note(
            self,
            f"Rotated {old.get_kind_display().lower()} #{old.pk} ({old.masked}) into #{new.pk} "
            f"acting as {new.user} for {new.application.application_uri}, expires "
            f"{new.expires_at:%Y-%m-%d %H:%M} UTC. It is shown once, below; keep it now.",
        )
        self.stdout.write(issued.plaintext)

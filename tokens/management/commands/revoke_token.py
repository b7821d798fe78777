import sys
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError

from common.ids import is_row_id
from tokens.format import PREFIX, is_well_formed
from tokens.models import ReferenceToken


class Command(BaseCommand):
    help = (
        "Revoke a reference token at once, by its number or by the token itself ('-' reads the "
        "token from stdin, keeping it out of the shell history). The row stays for the audit "
        "trail; revoking a revoked token changes and records nothing. "
        "Example: revoke_token 42 --reason 'laptop stolen'"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "token", metavar="ID_OR_TOKEN", help="The token's number, an enrt_ token, or '-'."
        )
        parser.add_argument("--reason", default="", help="Why (kept in the audit trail).")

    def handle(self, *args, **options) -> None:
        token = self._find(options["token"])
        if not token.revoke(by=None, reason=options["reason"].strip()):
            self.stdout.write(
                f"Token #{token.pk} ({token.masked}) was already revoked "
                f"at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC; nothing changed."
            )
            return
        self.stdout.write(
            f"Revoked {token.get_kind_display().lower()} #{token.pk} ({token.masked}) "
            f"acting as {token.user} for {token.application.application_uri}."
        )

    def _find(self, value: str) -> ReferenceToken:
        if value == "-":
            value = sys.stdin.readline().strip()
        tokens = ReferenceToken.objects.select_related("user", "application")
        if value.isascii() and value.isdigit():
            # A number beyond the id column's range names no token (and would overflow it).
            token = tokens.filter(pk=int(value)).first() if is_row_id(value) else None
            if token is None:
                raise CommandError(f"No token has the number {value}.")
            return token
        if value.startswith(PREFIX):
            # Never echo the value: it may be a real token with a typo.
            if not is_well_formed(value):
                raise CommandError(
                    "That is not a well-formed enrt_ token (bad length or checksum)."
                )
            token = tokens.matching(value).first()
            if token is None:
                raise CommandError("No token matches.")
            return token
        raise CommandError("Give a token's number or an enrt_ token.")

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from tokens.domain import lifecycle
from tokens.management.cli import token_given


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
        token = token_given(options["token"])
        if not lifecycle.revoke_token(token, by=None, reason=options["reason"].strip()):
            self.stdout.write(
                f"Token #{token.pk} ({token.masked}) was already revoked "
                f"at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC; nothing changed."
            )
            return
        self.stdout.write(
            f"Revoked {token.get_kind_display().lower()} #{token.pk} ({token.masked}) "
            f"acting as {token.user} for {token.application.application_uri}."
        )

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from tokens.management.cli import token_given


class Command(BaseCommand):
    help = (
        "Say whether a reference token is usable now and, if not, why: the status rule the "
        "validation URL and the pages apply. Example: token_status 42"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "token", metavar="ID_OR_TOKEN", help="The token's number, an enrt_ token, or '-'."
        )

    def handle(self, *args, **options) -> None:
        token = token_given(options["token"])
        state = token.state
        line = f"Token #{token.pk} ({token.masked}): {state.label}"
        if state.would_refuse:
            line += " (a lifetime rule in report mode would refuse it)"
        self.stdout.write(line)

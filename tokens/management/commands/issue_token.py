from argparse import ArgumentParser
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from common.cli import note, positive_int, refusal
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.domain.lifecycle import IssuedToken
from tokens.management.cli import person_named
from tokens.models import TokenKind
from trustedapps.management.cli import application_with_uri, scopes_named
from trustedapps.models import DEFAULT_TOKEN_LIFETIME, TrustedApplication


class Command(BaseCommand):
    help = (
        "Issue a reference token and print it, alone on stdout, the only time it is shown. "
        "'personal' acts as --user; 'service' acts as the application's system user and is "
        "issued in the name of the instance administrator given by --as-admin. The same rules "
        "apply as in the browser. Example: "
        "TOKEN=$(manage.py issue_token personal --user alice --app com.example/sync --scopes read)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True, metavar="{personal,service}")
        personal = kinds.add_parser("personal", help="A personal access token, acting as --user.")
        personal.add_argument("--user", required=True, help="Username of the token's owner.")
        service = kinds.add_parser(
            "service",
            help="A service access token, acting as the application's system user.",
        )
        service.add_argument(
            "--as-admin",
            required=True,
            metavar="USERNAME",
            help="The instance administrator (a superuser, or a holder of the 'Can issue "
            "service access tokens' permission) recorded as its creator.",
        )
        for kind in (personal, service):
            kind.add_argument("--app", required=True, metavar="URI", help="Application URI.")
            kind.add_argument(
                "--scopes",
                default="",
                help="Space- or comma-separated subset of the application's scopes, or 'all' "
                "(the default: all of them).",
            )
            kind.add_argument(
                "--expires-in-days",
                type=positive_int,
                metavar="N",
                help=f"Lifetime in days (default: {DEFAULT_TOKEN_LIFETIME.days}, or the "
                "application's longest lifetime if shorter).",
            )
            kind.add_argument("--description", default="", help="What it is for (128 chars).")
            kind.add_argument(
                "--ranges",
                default="",
                metavar="CIDRS",
                help="Address ranges it may be used from (CIDR, IPv4 or IPv6), space- or "
                "comma-separated; default: anywhere.",
            )

    def handle(self, *args, **options) -> None:
        application = application_with_uri(options["app"])
        arguments = {
            "application": application,
            # "all" (or nothing) asks for every scope of the application, explicitly.
            "scopes": [] if options["scopes"].strip() == "all" else scopes_named(options["scopes"]),
            "expires_at": _expiry(application, options["expires_in_days"]),
            "description": options["description"],
            "allowed_ranges": options["ranges"],
        }
        try:
            if options["kind"] == TokenKind.PERSONAL:
                issued = lifecycle.issue_personal(user=person_named(options["user"]), **arguments)
            else:
                issued = lifecycle.issue_service(
                    admin=person_named(options["as_admin"]), **arguments
                )
        except ValidationError as error:
            raise refusal(error) from None
        note(self, _summary(issued))
        self.stdout.write(issued.plaintext)


def _expiry(application: TrustedApplication, days: int | None) -> datetime:
    """00:00 UTC, N days from today (UTC), as the tokens created in the browser expire."""
    if days is None:
        days = application.default_token_lifetime.days
    try:
        return expiry_in_days(days)
    except OverflowError:
        raise CommandError(f"{days} days is beyond any possible date.") from None


def _summary(issued: IssuedToken) -> str:
    token = issued.token
    return (
        f"Issued {token.get_kind_display().lower()} #{token.pk} acting as {token.user} for "
        f"{token.application.application_uri}, scopes "
        f"{' '.join(s.name for s in token.scopes.all())}, "
        f"expires {token.expires_at:%-d %b %Y %H:%M} UTC. It is shown once, below; keep it now."
    )

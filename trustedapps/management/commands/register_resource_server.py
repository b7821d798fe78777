from argparse import ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.cli import invalid, note
from trustedapps.management.cli import scopes_named
from trustedapps.models import ResourceServer


class Command(BaseCommand):
    help = (
        "Register a resource server (an API that asks the portal whether a token is active) and "
        "print its new secret, alone on stdout, the only time it is shown. "
        "Example: SECRET=$(manage.py register_resource_server orders-api --scopes 'read update' "
        "--resource-uri https://orders.example.com/api)"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "client_id",
            help="Its client ID: visible ASCII characters, e.g. orders-api or urn:example:orders.",
        )
        parser.add_argument(
            "--scopes",
            required=True,
            help="The scopes it owns, space- or comma-separated; it sees only these on a token.",
        )
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--resource-uri",
            action="append",
            default=[],
            dest="resource_uris",
            metavar="URL",
            help="An absolute https:// URL of an API it serves (RFC 8707; http only for "
            "localhost); repeat for several. Answered in the introspection's `aud`, which "
            "django-oauth-toolkit matches against the request URL.",
        )

    def handle(self, *args, **options) -> None:
        client_id = options["client_id"]
        if ResourceServer.objects.filter(client_id=client_id).exists():
            raise CommandError(
                f"A resource server with the client ID {client_id!r} exists already."
            )
        scopes = scopes_named(options["scopes"])
        if not scopes:
            raise CommandError("A resource server needs at least one scope.")
        server = ResourceServer(
            client_id=client_id,
            name=options["name"].strip(),
            resource_uris=options["resource_uris"],
        )
        secret = server.set_secret()
        try:
            server.full_clean()
        except ValidationError as error:
            raise invalid(error) from None
        with transaction.atomic():
            server.save()
            server.scopes.set(scopes)
        uris = "".join(f", resource URI {uri}" for uri in server.resource_uris)
        note(
            self,
            f"Registered resource server {client_id} with scopes "
            f"{' '.join(s.name for s in scopes)}{uris}. "
            "Its secret is shown once, below; keep it now.",
        )
        self.stdout.write(secret)

from argparse import ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.cli import invalid, positive_int
from trustedapps.management.cli import scopes_named
from trustedapps.models import TokenPolicy, TrustedApplication


class Command(BaseCommand):
    help = (
        "Register a trusted application: the client that reference tokens are issued for. "
        "Example: register_trusted_app com.example/backup --name Backup --scopes 'read update' "
        "--policy authenticated_users --system-user"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("uri", help="Its application URI, unique, e.g. com.example/sync.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument(
            "--scopes",
            default="",
            help="Scopes its tokens may carry, space- or comma-separated, e.g. 'read update'.",
        )
        parser.add_argument(
            "--policy",
            choices=TokenPolicy.values,
            default=TokenPolicy.NONE,
            help="Who may issue tokens for it: none (the default: no tokens), "
            "authenticated_users (any person; admins for service tokens) or "
            "administrators_only.",
        )
        parser.add_argument(
            "--system-user",
            action="store_true",
            help="Give it a system user, so administrators may issue service tokens for it.",
        )
        parser.add_argument(
            "--max-lifetime-days",
            type=positive_int,
            help="Longest token lifetime in days (default: the instance's).",
        )
        parser.add_argument(
            "--disabled",
            action="store_true",
            help="Register it switched off: none of its tokens validate until it is enabled.",
        )
        parser.add_argument(
            "--no-holder-rotation",
            action="store_true",
            help="Whoever holds one of its tokens may not rotate it at "
            "POST /api/tokens/self/rotate (by default they may); owners still rotate theirs in "
            "the portal.",
        )
        parser.add_argument("--notes", default="", help="Free text for administrators.")

    def handle(self, *args, **options) -> None:
        uri = options["uri"]
        if TrustedApplication.objects.filter(application_uri=uri).exists():
            raise CommandError(f"A trusted application with the URI {uri!r} exists already.")
        scopes = scopes_named(options["scopes"])
        application = TrustedApplication(
            application_uri=uri,
            name=options["name"].strip(),
            notes=options["notes"],
            token_policy=options["policy"],
            has_system_user=options["system_user"],
            max_token_lifetime_days=options["max_lifetime_days"],
            is_enabled=not options["disabled"],
            holders_may_rotate=not options["no_holder_rotation"],
        )
        try:
            application.full_clean()
        except ValidationError as error:
            raise invalid(error) from None
        with transaction.atomic():
            application.save()
            application.allowed_scopes.set(scopes)

        system_user = getattr(application, "system_user", None)
        self.stdout.write(
            f"Registered {application.name} ({application.application_uri}): "
            f"policy {application.token_policy}, "
            f"scopes {' '.join(s.name for s in scopes) or '(none)'}, "
            f"system user {system_user.username if system_user else '(none)'}, "
            f"{'enabled' if application.is_enabled else 'disabled'}"
            f"{'' if application.holders_may_rotate else ', holders may not rotate its tokens'}."
        )

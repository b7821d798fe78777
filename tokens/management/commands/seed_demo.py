"""Demo data for `make run`, and what a person needs to try it in the first five minutes."""

from __future__ import annotations

import json
import os
from argparse import ArgumentParser
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from common.cli import positive_int
from tokens.forms import start_of_day_utc, today_utc
from tokens.introspection import InvalidClient, authenticate_caller
from tokens.models import ReferenceToken
from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

DEMO_PASSWORD = "demo-password-123"
DEMO_SERVER = "demo-api"
DEMO_TOKEN_DESCRIPTION = "Demo token (make run)"
# Only a hash of a secret is kept, so the demo's own secrets live in this ignored local file:
# a second `make run` keeps them working for whatever already uses them.
CREDENTIALS_FILE = settings.BASE_DIR / ".demo-credentials.json"


class Command(BaseCommand):
    help = (
        "Load idempotent demo data: an admin, a user, two trusted applications, a resource "
        "server and a personal token of the user. Prints the sign-ins and a curl line that "
        "validates the demo token. The server's secret and the token are kept in an ignored "
        "local file (.demo-credentials.json) and reused while they still work; --rotate "
        "makes new ones."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=positive_int, default=8000, help="For the URLs shown.")
        parser.add_argument(
            "--rotate", action="store_true", help="New server secret and demo token."
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=CREDENTIALS_FILE,
            help="Where the demo's secrets are kept (default: .demo-credentials.json).",
        )

    def handle(self, *args, **options) -> None:
        # Printed after the transaction, and so after whatever it sends on commit (a notice of
        # the new demo token): the last lines before the server starts are the ones to use.
        with transaction.atomic():
            admin, secret, token, path = self._seed(options)
        base = f"http://127.0.0.1:{options['port']}"
        self.stdout.write(
            f"Resource server: client_id={DEMO_SERVER} client_secret={secret}\n"
            f"  (kept in {path.name}; `manage.py seed_demo --rotate` makes new ones)\n"
            f"\n"
            f"Validate alice's demo token as the resource server would:\n"
            f"  curl -s -u {DEMO_SERVER}:{secret} -d token={token} {base}/connect/introspect\n"
            f"\n"
            f"Demo sign-ins (password for both: {DEMO_PASSWORD}):\n"
            f"  alice  a person                {base}/\n"
            f"  {admin.username}  instance administrator  {base}/admin/\n"
        )

    def _seed(self, options) -> tuple[User, str, str, Path]:
        read, update = Scope.objects.get(name="read"), Scope.objects.get(name="update")
        admin = _person("admin", "Ada", "Admin", superuser=True)
        alice = _person("alice", "Alice", "Example")

        sync, _ = TrustedApplication.objects.get_or_create(
            application_uri="com.example/sync",
            defaults={
                "name": "Example Sync",
                "token_policy": TokenPolicy.AUTHENTICATED_USERS,
                "has_system_user": True,
                "notes": "Any signed-in user may create personal tokens for it.",
            },
        )
        sync.allowed_scopes.add(read, update)
        reports, _ = TrustedApplication.objects.get_or_create(
            application_uri="com.example/reports",
            defaults={
                "name": "Example Reports",
                "token_policy": TokenPolicy.ADMINISTRATORS_ONLY,
                "has_system_user": True,
                "max_token_lifetime_days": 90,
                "notes": "Only administrators may create tokens for it.",
            },
        )
        reports.allowed_scopes.add(read)

        path: Path = options["credentials_file"]
        kept = {} if options["rotate"] else _read(path)
        server = ResourceServer.objects.filter(client_id=DEMO_SERVER).first()
        secret = kept.get("client_secret", "")
        if server is None or not secret or not _accepted(secret):
            server = server or ResourceServer(client_id=DEMO_SERVER, name="Demo API")
            secret = server.set_secret()
            server.save()
        server.scopes.add(read, update)

        token = kept.get("token", "")
        if not token or not ReferenceToken.objects.matching(token).unexpired().exists():
            token = ReferenceToken.objects.issue_personal(
                user=alice,
                application=sync,
                expires_at=start_of_day_utc(today_utc() + timedelta(days=30)),
                scopes=[read],
                description=DEMO_TOKEN_DESCRIPTION,
            ).plaintext
        _write(path, {"client_secret": secret, "token": token})
        return admin, secret, token, path


def _accepted(secret: str) -> bool:
    """Whether the validation URL takes the kept secret (the one caller check there is)."""
    try:
        authenticate_caller(DEMO_SERVER, secret)
    except InvalidClient:
        return False
    return True


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _write(path: Path, data: dict[str, str]) -> None:
    # Readable by its owner only: it holds a working secret and token (of the demo).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(data, file, indent=2)


def _person(username: str, first: str, last: str, superuser: bool = False) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(username, f"{username}@example.com", DEMO_PASSWORD)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    return user

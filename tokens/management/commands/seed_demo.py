"""Demo data for `make run`, and what a person needs to try it in the first five minutes."""

from __future__ import annotations

import enum
import json
import os
from argparse import ArgumentParser
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from accounts.models import User
from common.cli import positive_int
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from tokens.validation.checks import InvalidClient, authenticate_caller
from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

DEMO_PASSWORD = "demo-password-123"
DEMO_SERVER = "demo-api"
DEMO_TOKEN_DESCRIPTION = "Demo token (make run)"
DEMO_TOKEN_DAYS = 30
# Only a hash of a secret is kept, so the demo's own secrets live in this ignored local file:
# a second `make run` keeps them working for whatever already uses them. One entry per database
# (SQLite and PostgreSQL runs share the file), so that a run on one never replaces another's.
CREDENTIALS_FILE = settings.BASE_DIR / ".demo-credentials.json"
UNNAMED = ""


class Kept(enum.StrEnum):
    """What became of the demo credential kept for this database, as the output says it."""

    KEPT = "kept from the last run on this database"
    FIRST = "new: none was kept for this database yet"
    STALE = "new: the one kept for this database no longer worked with it"
    ROTATED = "new, as --rotate asked"


class Command(BaseCommand):
    help = (
        "Load idempotent demo data: an admin, a user, two trusted applications, a resource "
        "server and a personal token of the user. Prints the sign-ins and a curl line that "
        "validates the demo token. The server's secret and the token are kept in an ignored "
        "local file (.demo-credentials.json), one entry per database, and reused while they "
        "still work there; --rotate makes new ones."
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
            admin, demo = self._seed(options)
        base = f"http://127.0.0.1:{options['port']}"
        self.stdout.write(
            f"Resource server: client_id={DEMO_SERVER} client_secret={demo.secret}\n"
            f"  Database: {demo.database}\n"
            f"  Its secret: {demo.secret_fate}\n"
            f"  Alice's demo token: {demo.token_fate}\n"
            f"  (both kept in {demo.path.name} for this database; "
            f"`manage.py seed_demo --rotate` makes new ones)\n"
            f"\n"
            f"Validate alice's demo token as the resource server would:\n"
            f"  curl -s -u {DEMO_SERVER}:{demo.secret} -d token={demo.token} "
            f"{base}/connect/introspect\n"
            f"\n"
            f"Demo sign-ins (password for both: {DEMO_PASSWORD}):\n"
            f"  alice  a person                {base}/\n"
            f"  {admin.username}  instance administrator  {base}/admin/\n"
        )

    def _seed(self, options) -> tuple[User, DemoCredentials]:
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
        database = database_name()
        every_database = _read(path)
        # A file from before it named databases: tried here, as if kept for this database.
        kept = every_database.pop(UNNAMED, {}) or every_database.get(database, {})
        rotate = options["rotate"]

        server = ResourceServer.objects.filter(client_id=DEMO_SERVER).first()
        secret = kept.get("client_secret", "")
        secret_fate = _fate(secret, server is not None and _accepted(secret), rotate)
        if server is None or secret_fate is not Kept.KEPT:
            server = server or ResourceServer(client_id=DEMO_SERVER, name="Demo API")
            secret = server.set_secret()
            server.save()
        server.scopes.add(read, update)

        token = kept.get("token", "")
        live = ReferenceToken.objects.matching(token).live().first() if token else None
        token_fate = _fate(token, live is not None, rotate)
        if token_fate is Kept.ROTATED and live is not None and live.unusable_reason() is None:
            # One demo token at a time: the kept one stops, and its replacement takes its place.
            token = lifecycle.rotate(live, by=None).plaintext
        elif token_fate is not Kept.KEPT:
            token = lifecycle.issue_personal(
                user=alice,
                application=sync,
                expires_at=expiry_in_days(DEMO_TOKEN_DAYS),
                scopes=[read],
                description=DEMO_TOKEN_DESCRIPTION,
            ).plaintext
        every_database[database] = {"client_secret": secret, "token": token}
        _write(path, every_database)
        return admin, DemoCredentials(database, path, secret, secret_fate, token, token_fate)


@dataclass(frozen=True)
class DemoCredentials:
    database: str
    path: Path
    secret: str
    secret_fate: Kept
    token: str
    token_fate: Kept

    def __repr__(self) -> str:  # never let a secret reach a log or a traceback
        return f"DemoCredentials(database={self.database!r})"


def _fate(kept: str, still_works: bool, rotate: bool) -> Kept:
    if rotate:
        return Kept.ROTATED
    if not kept:
        return Kept.FIRST
    return Kept.KEPT if still_works else Kept.STALE


def database_name() -> str:
    """This database as the credentials file names it: engine, server and name, no password."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{database['NAME']}"
    host, port = database.get("HOST") or "localhost", database.get("PORT") or ""
    return f"{connection.vendor}://{host}{':' if port else ''}{port}/{database['NAME']}"


def _accepted(secret: str) -> bool:
    """Whether the validation URL takes the kept secret (the one caller check there is)."""
    try:
        authenticate_caller(DEMO_SERVER, secret)
    except InvalidClient:
        return False
    return True


def _read(path: Path) -> dict[str, dict[str, str]]:
    """The credentials kept for each database; nothing from a file that is not ours."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    # An older file held one database's credentials without saying which.
    databases = data.get("databases", {UNNAMED: data})
    if not isinstance(databases, dict):
        return {}
    return {
        name: {key: value for key, value in kept.items() if isinstance(value, str)}
        for name, kept in databases.items()
        if isinstance(kept, dict)
    }


def _write(path: Path, databases: dict[str, dict[str, str]]) -> None:
    # Readable by its owner only: it holds working secrets and tokens (of the demo).
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"databases": databases}, file, indent=2)


def _person(username: str, first: str, last: str, superuser: bool = False) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(username, f"{username}@example.com", DEMO_PASSWORD)
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    return user

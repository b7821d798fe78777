"""What tests share besides fixtures (those stay in the conftest files): the personas' password,
ways of calling the portal, and checks that several test folders make.

The browser's own helpers are in tests/e2e/browser.py, beside the browser tests.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tokens.validation.cache import FactsCache, stop_process_cache
from tokens.validation.checks import (
    InvalidClient,
    authenticate_caller,
    check_for_resource_server,
)
from trustedapps.models import ResourceServer, Scope

PROJECT = Path(__file__).resolve().parents[1]

# Every persona's password (tests/conftest.py).
PASSWORD = "correct horse battery staple"

FORM = "application/x-www-form-urlencoded"
# What htmx adds to the requests it sends.
HTMX = {"HTTP_HX_REQUEST": "true"}

# The secret of the django-oauth-toolkit resource server of tests/interop/, known to its process
# from its start; each test registers it in the portal anew (live-server tests empty the tables).
DOT_SECRET = secrets.token_urlsafe(32)


# --- Resource servers and callers ----------------------------------------------------------


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class RegisteredServer:
    """A resource server and its secret, as the test (playing the server) knows them."""

    def __init__(self, server: ResourceServer, secret: str) -> None:
        self.server = server
        self.client_id = server.client_id
        self.secret = secret


def register_server(client_id: str, scopes: list[Scope]) -> RegisteredServer:
    server = ResourceServer(client_id=client_id, name=client_id)
    secret = server.set_secret()
    server.save()
    server.scopes.set(scopes)
    return RegisteredServer(server, secret)


def authenticates(client_id: str, secret: str) -> bool:
    """Whether the validation URL would accept these caller credentials (production's check)."""
    try:
        authenticate_caller(client_id, secret)
    except InvalidClient:
        return False
    return True


# --- People and browsers -------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def same_browser(client: Client) -> Client:
    """Another client with `client`'s cookies: a second request of the same browser."""
    twin = Client()
    for name, morsel in client.cookies.items():
        twin.cookies[name] = morsel.value
    return twin


def grant(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh, without a stale permission cache


# --- Admin forms -----------------------------------------------------------------------------


def as_posted(response) -> dict:
    """An admin form as the browser sends it back unchanged (ticked boxes "on", ids of choices)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value in (None, False):
            continue
        if isinstance(value, list | tuple):
            value = [getattr(choice, "pk", choice) for choice in value]
        data[name] = "on" if value is True else value
    return data


def resent(carried: list[tuple[str, str]]) -> dict:
    """The hidden fields of a sudo-mode page, as its form sends them."""
    data: dict = {}
    for name, value in carried:
        data.setdefault(name, []).append(value)
    return data


def in_days(days: int) -> str:
    """The day `days` days from today (UTC), as a date field sends it."""
    return (timezone.now().astimezone(UTC).date() + timedelta(days=days)).isoformat()


# --- Secrets ---------------------------------------------------------------------------------


def stored_anywhere(secret: str) -> list[str]:
    """Every table and column whose stored text contains `secret` (there must be none)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        columns = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*columns):
            for column, value in zip(columns, row, strict=True):
                if value is not None and secret in str(value):
                    found.append(f"{model._meta.db_table}.{column}")
    return found


# --- Commands and the environment ------------------------------------------------------------


@dataclass
class Output:
    """What a command printed, as a script would see it (the `run` fixture)."""

    stdout: str
    stderr: str


def production_environment() -> dict[str, str]:
    """docs/production.env as a dict, with a real secret key in place of the placeholder."""
    values = {}
    for line in (PROJECT / "docs" / "production.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    return values


# --- A database gone away --------------------------------------------------------------------


def _closed_port() -> int:
    # Bound then released: nothing listens there for the next instant.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database_unreachable():
    """Really take the database away from the code under test, then give it back.

    PostgreSQL: the connection is closed and its settings point at a port where nothing listens,
    so the next query fails to connect, as when the server is down; the token cache's listener
    goes too (its connection would drop), so nothing cached is trusted meanwhile. SQLite (in
    memory, which dies with its connection): the live connection is swapped for one that aborts
    every statement with an OperationalError (SQLite's word for a database it cannot use now),
    then swapped back.
    """
    if connection.vendor == "postgresql":
        stop_process_cache()
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
    else:
        connection.ensure_connection()
        alive = connection.connection
        dead = sqlite3.connect(":memory:", check_same_thread=False)
        dead.set_progress_handler(lambda: 1, 1)  # "interrupted", at the first step
        connection.connection = dead
        try:
            yield
        finally:
            connection.connection = alive
            dead.close()


# --- A second worker's token cache (tests/tokens/test_token_cache.py, tests/scim/) -------------

BOUND = 10.0  # seconds: generous, so a busy machine never makes a test flaky


def eventually(condition: Callable[[], bool], timeout: float = BOUND) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def active(cache: FactsCache, token: str, server) -> bool:
    """Whether `server` is told the token is active, by a worker holding `cache`."""
    try:
        return (
            check_for_resource_server(
                token, client_id=server.client_id, client_secret=server.secret, cache=cache
            )
            is not None
        )
    except InvalidClient:
        return False


def cached_and_active(cache: FactsCache, token: str, server) -> None:
    """Fill the cache, and prove a check is answered from it (the fixtures' own changes may
    still be arriving, each dropping what was just stored)."""

    def answered_from_memory() -> bool:
        hits = cache.hits
        assert active(cache, token, server)
        return cache.hits == hits + 1

    assert eventually(answered_from_memory)

#!/usr/bin/env python
"""Races against a real server: `make stress` (STRESS_ARGS="--n 40").

Not part of `make test`. It makes a throw-away database next to the one of DATABASE_URL
(PostgreSQL), starts the portal under gunicorn (several threads per worker, production settings)
on loopback, and sends, each time from N threads released together by a barrier:

- one profile "create token" form N times (a double click, many times over): 1 token expected;
- one admin "Create application token" form N times: 1 token expected;
- 10 forms of one session at once, then each of them again: 10 tokens, then 0 more;
- N confirmations of one resource server's secret rotation: 1 secret shown, and it works.

It prints what it counted and exits 1 if any count is not the one expected.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import _free_port  # noqa: E402

FORM_KEY_RE = re.compile(r'name="form_key" value="([^"]+)"')
SEEN_RE = re.compile(r'name="seen_rotated_at"(?: value="([^"]*)")?')
SECRET_RE = re.compile(r'id="shown-once-value"[^>]*>\s*([^<\s]+)\s*</textarea>', re.S)
CSRF = secrets.token_hex(16)  # 32 characters: a CSRF secret this client makes and sends twice


def main() -> None:
    args = _arguments()
    database_url = _stress_database(args)
    os.environ.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SETTINGS_MODULE="bench.stress_settings",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    world = _seed()
    port = args.port or _free_port()
    server = _start_gunicorn(args, port)
    failures: list[str] = []
    try:
        client = _Client(port)
        print(
            f"make stress: gunicorn {args.workers} workers x {args.threads} threads on "
            f"127.0.0.1:{port}, PostgreSQL, N={args.n}"
        )
        _profile_race(client, world, args.n, failures)
        _admin_race(client, world, args.n, failures)
        _burst_race(client, world, failures)
        _rotation_race(client, world, args.n, failures)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        from django.db import connections

        connections.close_all()
        _drop_database(database_url)
    if failures:
        print("FAILED: " + "; ".join(failures))
        sys.exit(1)
    print("all races held")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="racing requests per race (40)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (8)")
    parser.add_argument("--port", type=int, default=0, help="loopback port (a free one)")
    args = parser.parse_args()
    if not 2 <= args.n <= 200:
        parser.error("--n must be between 2 and 200")
    return args


# --- The world and the server ------------------------------------------------------------------


def _stress_database(args: argparse.Namespace) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("make stress needs DATABASE_URL=postgres://...: SQLite serialises every writer.")
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = (parts.path.lstrip("/") or "portal") + "_stress"
    with psycopg.connect(
        urllib.parse.urlunsplit(parts._replace(path="/postgres")), autocommit=True
    ) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        urllib.parse.urlunsplit(parts._replace(path="/postgres")), autocommit=True
    ) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _World:
    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def _seed() -> _World:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User
    from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

    read = Scope.objects.get_or_create(name="read")[0]
    app = TrustedApplication.objects.create(
        application_uri="com.example/stress",
        name="Stress",
        token_policy=TokenPolicy.AUTHENTICATED_USERS,
        has_system_user=True,
    )
    app.allowed_scopes.set([read])
    server = ResourceServer(client_id="stress-api", name="Stress API")
    server.set_secret()
    server.save()
    server.scopes.set([read])
    alice = User.objects.create_user("alice", "alice@example.com", secrets.token_urlsafe(16))
    admin = User.objects.create_superuser("admin", "admin@example.com", secrets.token_urlsafe(16))
    sessions = {}
    for name, user in {"alice": alice, "admin": admin}.items():
        browser = Client()
        browser.force_login(user)
        sessions[name] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return _World(app=app, server=server, read=read, sessions=sessions)


def _start_gunicorn(args: argparse.Namespace, port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        "--worker-class=gthread",
        "--log-level=warning",
        "--env=DJANGO_SETTINGS_MODULE=bench.stress_settings",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not answer /healthz within 30 s")


# --- HTTP, as a browser of one session sends it -------------------------------------------------


class _Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self, method: str, path: str, session: str, form: dict | None = None
    ) -> tuple[int, str]:
        headers = {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()


def _race(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """`attempt(i)` in n threads released together by a barrier."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def racer(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = attempt(i)
        except OSError as error:
            results[i] = (0, str(error))

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _statuses(results: list[tuple[int, str]]) -> str:
    return ", ".join(
        f"{status}: {count}" for status, count in sorted(Counter(r[0] for r in results).items())
    )


def _expect(failures: list[str], what: str, got: int, expected: int) -> str:
    if got != expected:
        failures.append(f"{what}: {got}, expected {expected}")
    return f"{got} (expected {expected})"


# --- The races ---------------------------------------------------------------------------------


def _in_days(days: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def _profile_race(client: _Client, world: _World, n: int, failures: list[str]) -> None:
    from tokens.models import ReferenceToken

    session = world.sessions["alice"]
    _, page = client.request("GET", "/profile/security/tokens/new/", session)
    form = {
        "application": world.app.pk,
        "description": "profile race",
        "expires_at": _in_days(5),
        "scopes": [world.read.pk],
        "form_key": FORM_KEY_RE.search(page)[1],
    }
    results = _race(
        n, lambda i: client.request("POST", "/profile/security/tokens/new/", session, form)
    )
    made = ReferenceToken.objects.filter(description="profile race").count()
    tokens = _expect(failures, "profile race", made, 1)
    print(f"profile, one form posted {n} times at once: tokens {tokens}; {_statuses(results)}")


def _admin_race(client: _Client, world: _World, n: int, failures: list[str]) -> None:
    from tokens.models import ReferenceToken

    session = world.sessions["admin"]
    path = f"/admin/trustedapps/trustedapplication/{world.app.pk}/create-token/"
    _, page = client.request("GET", path, session)
    form = {
        "description": "admin race",
        "expires_at": _in_days(5),
        "scopes": [world.read.pk],
        "form_key": FORM_KEY_RE.search(page)[1],
    }
    results = _race(n, lambda i: client.request("POST", path, session, form))
    made = ReferenceToken.objects.filter(description="admin race").count()
    tokens = _expect(failures, "admin race", made, 1)
    print(f"admin, one SAT form posted {n} times at once: tokens {tokens}; {_statuses(results)}")


def _burst_race(client: _Client, world: _World, failures: list[str]) -> None:
    from tokens.models import ReferenceToken

    session = world.sessions["alice"]
    pages = _race(10, lambda i: client.request("GET", "/profile/security/tokens/new/", session))
    forms = [
        {
            "application": world.app.pk,
            "description": "burst race",
            "expires_at": _in_days(5),
            "scopes": [world.read.pk],
            "form_key": FORM_KEY_RE.search(page)[1],
        }
        for _, page in pages
    ]
    first = _race(
        10, lambda i: client.request("POST", "/profile/security/tokens/new/", session, forms[i])
    )
    after_first = ReferenceToken.objects.filter(description="burst race").count()
    again = _race(
        10, lambda i: client.request("POST", "/profile/security/tokens/new/", session, forms[i])
    )
    more = ReferenceToken.objects.filter(description="burst race").count() - after_first
    tokens = _expect(failures, "burst", after_first, 10)
    print(f"10 forms of one session at once: tokens {tokens}; {_statuses(first)}")
    tokens = _expect(failures, "burst again", more, 0)
    print(f"the same 10 forms again at once: more tokens {tokens}; {_statuses(again)}")


def _rotation_race(client: _Client, world: _World, n: int, failures: list[str]) -> None:
    from trustedapps.models import ResourceServer, hash_secret

    session = world.sessions["admin"]
    path = f"/admin/trustedapps/resourceserver/{world.server.pk}/rotate-secret/"
    _, page = client.request("GET", path, session)
    seen = SEEN_RE.search(page)[1] or ""
    results = _race(n, lambda i: client.request("POST", path, session, {"seen_rotated_at": seen}))
    shown = [
        SECRET_RE.search(body)[1]
        for status, body in results
        if status == 200 and SECRET_RE.search(body)
    ]
    server = ResourceServer.objects.get(pk=world.server.pk)
    working = sum(server.secret_hash == hash_secret(secret) for secret in shown)
    shown_count = _expect(failures, "rotation shown", len(shown), 1)
    working_count = _expect(failures, "rotation working", working, 1)
    print(
        f"{n} admins rotate one secret at once: secrets shown {shown_count}, "
        f"of which work {working_count}; {_statuses(results)}"
    )


if __name__ == "__main__":
    main()

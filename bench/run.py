#!/usr/bin/env python
"""Load benchmark of the validation URL: `make bench` (BENCH_ARGS="--tokens 100000 1000000").

It creates a throw-away database next to the one of DATABASE_URL (PostgreSQL; SQLite only with a
warning), migrates it, seeds N tokens, registers a resource server, starts the portal twice on
loopback with production settings (DEBUG off, persistent connections): once as configured (the
token cache on) and once with TOKEN_CACHE=0. It drives `wrk` against: `ceiling` (a bench-only
JSON view without database access, through the same middleware and server), `baseline` (one
indexed SELECT by hash), the validation URL with an active, an unknown and a malformed token
(cached), `active-ranges` (an active token restricted to address ranges, with the `client_ip`
a resource server reports: issue 23's check, in memory), `fwd-active` (/connect/forward-auth as
a gateway calls it, cached), `cold` (every check a different token, none used in the last
interval), and the active and unknown tokens with the cache off. Ratios are to the ceiling
measured in the same run.

`--two-node` runs the revocation mode instead: two portal servers (separate process trees, one
PostgreSQL) under load; changes made through one are timed until the other answers inactive.
`--compare-servers` measures the ceiling and the cached active case under gunicorn (sync and
gthread) and granian in one run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLIENT_ID = "bench-api"
# The end user's address the active-ranges case reports (inside the token's last range).
RANGED_FROM = "203.0.113.7"

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
{auth}
{request}
function done(summary, latency, requests)
  local errors = summary.errors
  io.write("BENCH_JSON " .. string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, '
    .. '"non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
"""


# Forward auth (issue 25): what a gateway sends, a GET without a body and the client's token.
FORWARD_LUA = """
wrk.method = "GET"
wrk.headers["X-Gateway-Authorization"] = "{gateway}"
wrk.headers["Authorization"] = "Bearer {token}"
""" + LUA[LUA.index("function done") :]


COLD_LUA = """
local bodies = {{}}
for line in io.lines("{path}") do bodies[#bodies + 1] = line end
local next_body = {start}
request = function()
  local body = bodies[(next_body - 1) % #bodies + 1]
  next_body = next_body + 1
  return wrk.format(nil, nil, nil, body)
end
"""


def main() -> None:
    args = _arguments()
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "wrk is not installed. Install it with `apt-get install wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS), then run `make bench` again."
        )
    database_url = _bench_database(args)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PORTAL_BASE_URL="",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    print(f"Migrating the benchmark database ({connection.vendor}) ...", flush=True)
    call_command("migrate", verbosity=0)
    world = _seed_world()
    try:
        if args.two_node:
            from bench.two_node import run_two_node

            run_two_node(args, world, database_url, _Portal)
        else:
            _load(args, wrk, world, database_url, connection)
    finally:
        if not args.keep_database:
            connection.close()
            _drop_database(args, database_url)


def _load(args, wrk, world, database_url, connection) -> None:
    cores = os.cpu_count()
    run = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cores": cores, "platform": platform.platform()},
        "database": {"vendor": connection.vendor, "version": _db_version(connection)},
        "server": {
            "server": args.server,
            "workers": args.workers,
            "threads": args.threads,
            "worker_class": args.worker_class,
        },
        "duration_s": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "sizes": [],
    }
    for size in sorted(args.tokens):
        print(f"\nSeeding to {size:,} tokens ...", flush=True)
        started = time.monotonic()
        cold = _seed_cold(min(args.cold_tokens, size // 2), world)
        _seed_filler(size, world)
        connection.close()
        print(f"  done in {time.monotonic() - started:.1f} s", flush=True)
        if args.compare_servers:
            specs = {
                "gunicorn-sync": {"server": "gunicorn", "worker_class": "sync", "threads": 1},
                "gunicorn-gthread": {
                    "server": "gunicorn",
                    "worker_class": "gthread",
                    "threads": max(args.threads, 4),
                },
                "granian": {"server": "granian", "threads": args.threads},
            }
        else:
            specs = {"cached": {}, "uncached": {"env": {"TOKEN_CACHE": "0"}}}
        portals = [_Portal(args, database_url, **spec) for spec in specs.values()]
        try:
            for portal in portals:
                portal.start()
            urls = dict(zip(specs, (p.url for p in portals), strict=True))
            cases = _server_cases(urls, world) if args.compare_servers else _cases(urls, world)
            _check_cases(cases)
            with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
                cold_path = Path(tmp) / "cold.txt"
                cold_path.write_text(
                    "".join(urllib.parse.urlencode({"token": t}) + "\n" for t in cold)
                )
                results = _run_cases(wrk, cases, args, cold_path, len(cold))
        finally:
            for portal in portals:
                portal.stop()
        run["sizes"].append({"tokens": size, "results": results})
    _print_summary(run)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    print(f"\nWrote {path.relative_to(ROOT)}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tokens",
        type=int,
        nargs="+",
        default=[100_000],
        help="token counts to measure, in one run (default 100000; e.g. 100000 1000000)",
    )
    parser.add_argument("--duration", type=int, default=12, help="seconds per case (12)")
    parser.add_argument(
        "--rounds", type=int, default=6, help="interleaved runs that share --duration (6)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per case (2)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--cold-tokens",
        type=int,
        default=100_000,
        help="real tokens for the cold case, each checked once (100000, at most half of --tokens)",
    )
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="granian",
        help="the WSGI server (granian, as make serve runs it)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (one per core, as make serve)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads per worker (2, as make serve)"
    )
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (sync; gthread keeps alive)"
    )
    parser.add_argument(
        "--compare-servers",
        action="store_true",
        help="ceiling and cached active under gunicorn sync, gunicorn gthread and granian",
    )
    parser.add_argument(
        "--two-node",
        action="store_true",
        help="the revocation mode: two portal servers, changes through one timed on the other",
    )
    parser.add_argument(
        "--changes", type=int, default=10, help="two-node: changes of each kind (10)"
    )
    parser.add_argument(
        "--restart-database",
        default="",
        metavar="CMD",
        help="two-node: a command that restarts PostgreSQL, run during each revocation of one "
        "more row (a server of your own: e.g. 'pg_ctlcluster 15 main restart')",
    )
    parser.add_argument(
        "--ports",
        type=int,
        nargs=2,
        default=[0, 0],
        help="two-node: the two servers' ports on 127.0.0.1 (0: free ones)",
    )
    parser.add_argument(
        "--database-name",
        default="",
        help="the throw-away PostgreSQL database (default: DATABASE_URL's name + '_bench')",
    )
    parser.add_argument(
        "--keep-database", action="store_true", help="keep the benchmark database afterwards"
    )
    return parser.parse_args()


# --- The database ------------------------------------------------------------------------------


def _bench_database(args: argparse.Namespace) -> str:
    """A fresh database on the server of DATABASE_URL, so a benchmark never fills a real one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print(
            "WARNING: DATABASE_URL is not PostgreSQL; benchmarking on SQLite, whose figures say "
            "nothing about production. Set DATABASE_URL=postgres://... for figures to report.",
            file=sys.stderr,
        )
        path = Path(tempfile.mkdtemp(prefix="portal-bench-")) / "bench.sqlite3"
        return f"sqlite:///{path}"
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = args.database_name or (parts.path.lstrip("/") or "portal") + "_bench"
    args.database_name = name
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(args: argparse.Namespace, database_url: str) -> None:
    if database_url.startswith("sqlite:///"):
        shutil.rmtree(Path(database_url.removeprefix("sqlite:///")).parent, ignore_errors=True)
        return
    import psycopg

    parts = urllib.parse.urlsplit(database_url)
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database_name}"')


def _db_version(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version()"
            if connection.vendor == "postgresql"
            else "SELECT 'SQLite ' || sqlite_version()"
        )
        return cursor.fetchone()[0]


class _World:
    def __init__(self, **kwargs) -> None:
        self.__dict__.update(kwargs)


def _seed_world() -> _World:
    """A person, an application, a resource server, and the real tokens the cases send."""
    from accounts.models import User
    from tokens.domain import lifecycle
    from tokens.domain.expiry import expiry_in_days
    from tokens.format import make_token
    from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

    read = Scope.objects.get_or_create(name="read")[0]
    update = Scope.objects.get_or_create(name="update")[0]
    person = User.objects.create_user("bench-user", "bench@example.com", secrets.token_hex(16))
    app = TrustedApplication.objects.create(
        application_uri="com.example/bench",
        name="Bench",
        token_policy=TokenPolicy.AUTHENTICATED_USERS,
        has_system_user=True,
    )
    app.allowed_scopes.set([read, update])
    server = ResourceServer(client_id=CLIENT_ID, name="Bench API")
    secret = server.set_secret()
    server.save()
    server.scopes.set([read, update])
    active = lifecycle.issue_personal(
        user=person,
        application=app,
        expires_at=expiry_in_days(300),
        description="benchmark",
    )
    # Issue 23: the same token restricted to address ranges, checked from inside one of them.
    ranged = lifecycle.issue_personal(
        user=person,
        application=app,
        expires_at=expiry_in_days(300),
        description="benchmark with address ranges",
        allowed_ranges="10.0.0.0/8 192.0.2.0/24 2001:db8::/32 203.0.113.0/24",
    )
    unknown = make_token()
    malformed = unknown[:-1] + ("0" if unknown[-1] != "0" else "1")  # the checksum fails
    return _World(
        user_id=person.pk,
        app_id=app.pk,
        scope_ids=[read.pk, update.pk],
        secret=secret,
        active=active.plaintext,
        ranged=ranged.plaintext,
        unknown=unknown,
        malformed=malformed,
    )


def _seed_filler(size: int, world: _World) -> None:
    """Grow the token table to `size` rows, each with two scopes, like real tokens.

    Filler rows carry random hashes: nobody can present them, they only make the table and its
    indexes as large as a real instance's. The queried tokens are real (SHA-256 of a real token).
    """
    from django.db import connection, transaction

    from tokens.models import ReferenceToken

    missing = size - ReferenceToken.objects.count()
    if missing <= 0:
        return
    token_table = ReferenceToken._meta.db_table
    scope_table = ReferenceToken.scopes.through._meta.db_table
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM " + token_table)  # noqa: S608
            first_new = cursor.fetchone()[0] + 1
            rebuild = _drop_secondary_indexes(cursor, [token_table, scope_table])
            cursor.execute(
                "INSERT INTO "  # noqa: S608
                + token_table
                + """ (kind, user_id, application_id, created_by_id, description, token_hash,
                       hint, created_at, expires_at, revocation_reason)
                SELECT 'personal', %s, %s, %s, 'filler',
                       encode(sha256(convert_to(gen_random_uuid()::text || g, 'UTF8')), 'hex'),
                       'FILL', now() - interval '1 day', now() + interval '300 days', ''
                FROM generate_series(1, %s) AS g""",
                [world.user_id, world.app_id, world.user_id, missing],
            )
            cursor.execute(
                "INSERT INTO "  # noqa: S608
                + scope_table
                + " (referencetoken_id, scope_id) SELECT t.id, s.id FROM "
                + token_table
                + " t CROSS JOIN unnest(%s::bigint[]) AS s(id) WHERE t.id >= %s",
                [world.scope_ids, first_new],
            )
            for statement in rebuild:
                cursor.execute(statement)
            cursor.execute("ANALYZE " + token_table)
            cursor.execute("ANALYZE " + scope_table)
        return
    # Anything but PostgreSQL: the ORM in batches (slow for a million, but it works).
    now = datetime.now(UTC)
    batch = 10_000
    through = ReferenceToken.scopes.through
    while missing > 0:
        count = min(batch, missing)
        with transaction.atomic():
            rows = ReferenceToken.objects.bulk_create(
                ReferenceToken(
                    kind="personal",
                    user_id=world.user_id,
                    application_id=world.app_id,
                    description="filler",
                    token_hash=secrets.token_hex(32),
                    hint="FILL",
                    created_at=now,
                    expires_at=now + timedelta(days=300),
                )
                for _ in range(count)
            )
            through.objects.bulk_create(
                through(referencetoken_id=row.pk, scope_id=scope_id)
                for row in rows
                for scope_id in world.scope_ids
            )
        missing -= count


def _drop_secondary_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop the tables' unique constraints and indexes (not primary keys, which the inserts
    need); return the statements that rebuild them. Building an index once, by sorting, is several
    times faster than updating it row by row; skipping the foreign-key triggers (superuser only)
    too. The filler rows reference existing rows by construction."""
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cursor.fetchone()[0]:
        cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute(
        """SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)""",
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        [tables],
    )
    indexes = cursor.fetchall()
    rebuild = []
    for name, table, definition in constraints:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for name, definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
        rebuild.append(definition)
    return rebuild


def _seed_cold(count: int, world: _World) -> list[str]:
    """`count` real tokens never used: the cold case checks each once, so every check is the
    first of its token in the interval (a cache miss and a last-use record)."""
    from django.db import connection, transaction

    from tokens.format import hash_token, make_token
    from tokens.models import ReferenceToken

    plaintexts = [make_token() for _ in range(count)]
    if not plaintexts:
        return []
    now = datetime.now(UTC)
    token_table = ReferenceToken._meta.db_table
    scope_table = ReferenceToken.scopes.through._meta.db_table
    if connection.vendor != "postgresql":
        tokens = ReferenceToken.objects.bulk_create(
            ReferenceToken(
                kind="personal",
                user_id=world.user_id,
                application_id=world.app_id,
                description="cold",
                token_hash=hash_token(t),
                hint=t[-4:],
                created_at=now,
                expires_at=now + timedelta(days=300),
            )
            for t in plaintexts
        )
        through = ReferenceToken.scopes.through
        through.objects.bulk_create(
            through(referencetoken_id=t.pk, scope_id=s) for t in tokens for s in world.scope_ids
        )
        return plaintexts
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO "  # noqa: S608
            + token_table
            + """ (kind, user_id, application_id, created_by_id, description, token_hash, hint,
                   created_at, expires_at, revocation_reason)
            SELECT 'personal', %s, %s, %s, 'cold', h, right(h, 4), %s, %s, ''
            FROM unnest(%s::text[]) AS h RETURNING id""",
            [
                world.user_id,
                world.app_id,
                world.user_id,
                now,
                now + timedelta(days=300),
                [hash_token(t) for t in plaintexts],
            ],
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO "  # noqa: S608
            + scope_table
            + " (referencetoken_id, scope_id)"
            + " SELECT t, s FROM unnest(%s::bigint[]) AS t CROSS JOIN unnest(%s::bigint[]) AS s",
            [ids, world.scope_ids],
        )
    return plaintexts


# --- The server --------------------------------------------------------------------------------


class _Portal:
    """The portal as production runs it, on a loopback port, in its own process tree."""

    def __init__(
        self,
        args: argparse.Namespace,
        database_url: str,
        *,
        server: str | None = None,
        worker_class: str | None = None,
        threads: int | None = None,
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        self.server = server or args.server
        self.worker_class = worker_class or args.worker_class
        self.threads = threads or args.threads
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            DATABASE_URL=database_url,
            PYTHONPATH=str(ROOT),
            DJANGO_SETTINGS_MODULE="bench.settings",
            **(env or {}),
        )

    def command(self) -> list[str]:
        bin_dir = Path(sys.executable).parent
        if self.server == "granian":
            # The production server as `make serve` starts it (config/serve.py), without its
            # access log: nginx in front logs every request (the deploy guide).
            self.env.update(
                PORT=str(self.port),
                WEB_CONCURRENCY=str(self.args.workers),
                SERVER_THREADS=str(self.threads),
                SERVER_ACCESS_LOG="0",
            )
            return [sys.executable, "-m", "config.serve"]
        return [
            str(bin_dir / "gunicorn"),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.args.workers}",
            f"--threads={self.threads}",
            f"--worker-class={self.worker_class}",
            "--log-level=warning",
        ]

    def start(self) -> _Portal:
        # A session of its own: the server and its workers are one process group to stop.
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"{self.server} did not answer /healthz within 30 s")

    def stop(self) -> None:
        if getattr(self, "process", None) is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> _Portal:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The cases ---------------------------------------------------------------------------------


def _auth(world: _World) -> str:
    credentials = base64.b64encode(f"{CLIENT_ID}:{world.secret}".encode()).decode()
    return f'wrk.headers["Authorization"] = "Basic {credentials}"'


def _case(
    name, url, token, auth="", expect=True, cache_url=None, params=None, forward=None
) -> dict:
    return {
        "name": name,
        "url": url,
        "token": token,
        "auth": auth,
        "expect": expect,
        "cache_url": cache_url,
        # Parameters sent beside the token (the end user's address of a ranged token).
        "params": params or {},
        # Forward auth: the gateway's `Basic ...` credential; the token goes in a header.
        "forward": forward,
    }


def _body(case: dict) -> str:
    return urllib.parse.urlencode({"token": case["token"], **case["params"]})


def _gateway(world: _World) -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{world.secret}".encode()).decode()


def _cases(urls: dict[str, str], world: _World) -> list[dict]:
    auth = _auth(world)
    cached, uncached = urls["cached"], urls["uncached"]
    introspect = "/connect/introspect"
    forward = cached + "/connect/forward-auth"
    gateway = _gateway(world)
    return [
        _case("ceiling", cached + "/bench/ceiling", world.active),
        _case("baseline", cached + "/bench/baseline", world.active),
        _case("active", cached + introspect, world.active, auth, cache_url=cached),
        _case(
            "active-ranges",
            cached + introspect,
            world.ranged,
            auth,
            cache_url=cached,
            params={"client_ip": RANGED_FROM},
        ),
        _case("fwd-active", forward, world.active, cache_url=cached, forward=gateway),
        _case("unknown", cached + introspect, world.unknown, auth, False, cache_url=cached),
        _case("malformed", cached + introspect, world.malformed, auth, False),
        _case("cold", cached + introspect, "cold", auth, cache_url=cached),
        _case("active-nc", uncached + introspect, world.active, auth),
        _case("unknown-nc", uncached + introspect, world.unknown, auth, False),
    ]


def _server_cases(urls: dict[str, str], world: _World) -> list[dict]:
    auth = _auth(world)
    cases = []
    for name, url in urls.items():
        cases.append(_case(f"ceiling/{name}", url + "/bench/ceiling", world.active))
        cases.append(
            _case(f"active/{name}", url + "/connect/introspect", world.active, auth, cache_url=url)
        )
    return cases


def _check_cases(cases: list[dict]) -> None:
    """Each case must answer what it claims before it is timed."""
    for case in cases:
        if case["token"] == "cold":
            continue
        if case["forward"]:
            _check_forward(case)
            continue
        request = urllib.request.Request(case["url"], data=_body(case).encode())
        if case["auth"]:
            request.add_header("Authorization", case["auth"].split('= "')[1].rstrip('"'))
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        if answer.get("active") is not case["expect"]:
            sys.exit(f"case {case['name']} answered {answer}, not active={case['expect']}")


def _check_forward(case: dict) -> None:
    request = urllib.request.Request(
        case["url"],
        headers={
            "X-Gateway-Authorization": case["forward"],
            "Authorization": f"Bearer {case['token']}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if (status == 200) is not case["expect"]:
        sys.exit(f"case {case['name']} answered {status}, not active={case['expect']}")


def _cache_counters(url: str) -> dict[int, dict]:
    """The cache counters of every worker behind `url` (sampled: each request meets one)."""
    found: dict[int, dict] = {}
    for _ in range(24):
        with urllib.request.urlopen(url + "/bench/cache-stats", timeout=5) as response:
            stats = json.load(response)
        if stats.get("pid") is not None:
            found[stats["pid"]] = stats
    return found


def _hit_delta(before: dict[int, dict], after: dict[int, dict]) -> tuple[int, int]:
    hits = lookups = 0
    for pid, stats in after.items():
        old = before.get(pid, {"hits": 0, "misses": 0, "bypassed": 0})
        hits += stats["hits"] - old["hits"]
        lookups += sum(stats[k] - old[k] for k in ("hits", "misses", "bypassed"))
    return hits, lookups


def _run_cases(
    wrk: str, cases: list[dict], args: argparse.Namespace, cold_path: Path, cold_count: int
) -> list[dict]:
    """Each case for `rounds` short runs, interleaved; medians are reported, and each ratio is
    the median of the ratios to the ceiling run of the same round, so a neighbour that takes the
    CPU for a while (the load generator, PostgreSQL and anything else share the cores) hits
    both sides of it."""
    results = []
    per_round = max(1, round(args.duration / args.rounds))
    reference = cases[0]["name"]
    cold_used = 0
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:

        def script(case: dict) -> Path:
            path = Path(tmp) / f"{case['name'].replace('/', '-')}.lua"
            if case["forward"]:
                path.write_text(FORWARD_LUA.format(gateway=case["forward"], token=case["token"]))
                return path
            if case["token"] == "cold":
                body = json.dumps("")
                request = COLD_LUA.format(path=cold_path, start=cold_used + 1)
            else:
                body = json.dumps(_body(case))
                request = ""
            path.write_text(LUA.format(body=body, auth=case["auth"], request=request))
            return path

        def measure(case: dict, connections: int, seconds: int) -> dict:
            nonlocal cold_used
            before = _cache_counters(case["cache_url"]) if case["cache_url"] else None
            result = _wrk(wrk, case["url"], script(case), connections, seconds)
            if case["token"] == "cold":
                cold_used += result["requests"]
            if before is not None:
                result["hits"], result["lookups"] = _hit_delta(
                    before, _cache_counters(case["cache_url"])
                )
            return result

        for connections in args.connections:
            rounds: dict[str, list[dict]] = {case["name"]: [] for case in cases}
            for case in cases:
                if args.warmup:
                    measure(case, connections, args.warmup)
            for _ in range(args.rounds):
                for case in cases:
                    rounds[case["name"]].append(measure(case, connections, per_round))
            for case in cases:
                result = _combine(rounds[case["name"]], rounds[reference])
                result.update(name=case["name"], connections=connections)
                if case["token"] == "cold" and cold_used > cold_count:
                    result["cold_reused"] = cold_used - cold_count
                results.append(result)
                print(_line(result), flush=True)
    return results


def _combine(runs: list[dict], reference_runs: list[dict]) -> dict:
    ratios = [
        run["requests_per_s"] / base["requests_per_s"]
        for run, base in zip(runs, reference_runs, strict=True)
        if base["requests_per_s"]
    ]
    hits = sum(r.get("hits", 0) for r in runs)
    lookups = sum(r.get("lookups", 0) for r in runs)
    return {
        "requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "ratio_to_ceiling": statistics.median(ratios) if ratios else None,
        "hit_ratio": hits / lookups if lookups else None,
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "rounds": runs,
    }


def _wrk(wrk: str, url: str, script: Path, connections: int, duration: int) -> dict:
    # One wrk thread: the load generator shares the two cores with the server and PostgreSQL.
    output = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    return {
        "requests_per_s": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["non_2xx"],
    }


def _hits(result: dict) -> str:
    return f"{result['hit_ratio']:.1%}" if result.get("hit_ratio") is not None else "-"


def _line(result: dict) -> str:
    errors = f"  ERRORS {result['errors']}" if result["errors"] else ""
    reused = f"  (cold tokens reused: {result['cold_reused']})" if "cold_reused" in result else ""
    return (
        f"  {result['name']:<24} c={result['connections']:<2} "
        f"{result['requests_per_s']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
        f"p99 {result['p99_ms']:6.2f} ms  x{result['ratio_to_ceiling']:.2f} of ceiling  "
        f"hits {_hits(result)}{errors}{reused}"
    )


def _print_summary(run: dict) -> None:
    server = run["server"]
    print(
        f"\nSummary ({run['machine']['cores']} cores, {run['database']['version'][:40]}, "
        f"{server['server']} {server['workers']} workers):"
    )
    print(
        f"  {'tokens':>9} {'case':<24} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'x ceiling':>9} {'hits':>6}"
    )
    for size in run["sizes"]:
        for r in size["results"]:
            print(
                f"  {size['tokens']:>9,} {r['name']:<24} {r['connections']:>5} "
                f"{r['requests_per_s']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
                f" {r['ratio_to_ceiling']:>9.2f} {_hits(r):>6}"
            )
    for size in run["sizes"]:
        by_case = {(r["name"], r["connections"]): r for r in size["results"]}
        for (name, connections), ranged in by_case.items():
            plain = by_case.get(("active", connections))
            if name == "active-ranges" and plain and plain["ratio_to_ceiling"]:
                change = ranged["ratio_to_ceiling"] / plain["ratio_to_ceiling"] - 1
                print(
                    f"  active with address ranges c={connections}, {size['tokens']:,} tokens: "
                    f"{change:+.1%} in the ratio to the ceiling (the check is in memory)"
                )
    if len(run["sizes"]) > 1:
        first, last = run["sizes"][0], run["sizes"][-1]
        for a, b in zip(first["results"], last["results"], strict=True):
            if a["name"] in ("active", "fwd-active", "active-nc", "cold"):
                change = b["ratio_to_ceiling"] / a["ratio_to_ceiling"] - 1
                print(
                    f"  {a['name']} c={a['connections']}: {last['tokens']:,} tokens vs "
                    f"{first['tokens']:,}: {change:+.1%} in the ratio to the ceiling"
                )


if __name__ == "__main__":
    main()

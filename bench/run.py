#!/usr/bin/env python
"""Load benchmark of the validation URL: `make bench` (BENCH_ARGS="--tokens 100000 1000000").

It creates a throw-away database next to the one of DATABASE_URL (PostgreSQL; SQLite only with a
warning), migrates it, seeds N tokens, registers a resource server, starts the portal under
gunicorn with production settings (DEBUG off, persistent connections) on loopback, and drives
`wrk` at 1 and 8 connections against: the introspection URL with an active token, with an unknown
but well-formed token, with a malformed token, and a baseline view that does one indexed SELECT of
a token row by its hash. Each case is compared with the baseline measured in the same run, at the
same connection count: the load generator shares the cores, so only such ratios are meaningful.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CLIENT_ID = "bench-api"

LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
{auth}
function done(summary, latency, requests)
  local errors = summary.errors
  io.write("BENCH_JSON " .. string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "socket_errors": %d, '
    .. '"non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
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
    cores = os.cpu_count()
    run = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"cores": cores, "platform": platform.platform()},
        "database": {"vendor": connection.vendor, "version": _db_version(connection)},
        "gunicorn": {
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
        _seed_filler(size, world)
        connection.close()
        print(f"  done in {time.monotonic() - started:.1f} s", flush=True)
        with _Portal(args, database_url) as portal:
            cases = _cases(portal.url, world)
            _check_cases(cases)
            results = _run_cases(wrk, cases, args)
        run["sizes"].append({"tokens": size, "results": results})
    _print_summary(run)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    print(f"\nWrote {path.relative_to(ROOT)}")
    if not args.keep_database:
        connection.close()
        _drop_database(args, database_url)


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
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn worker class (sync; gthread keeps alive)"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
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
    from tokens.format import make_token
    from tokens.models import ReferenceToken
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
    active = ReferenceToken.objects.issue_personal(
        user=person,
        application=app,
        expires_at=datetime.now(UTC) + timedelta(days=300),
        description="benchmark",
    )
    unknown = make_token()
    malformed = unknown[:-1] + ("0" if unknown[-1] != "0" else "1")  # the checksum fails
    return _World(
        user_id=person.pk,
        app_id=app.pk,
        scope_ids=[read.pk, update.pk],
        secret=secret,
        active=active.plaintext,
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


# --- The server --------------------------------------------------------------------------------


class _Portal:
    """The portal under gunicorn, as production runs it, on a free loopback port."""

    def __init__(self, args: argparse.Namespace, database_url: str) -> None:
        self.args = args
        self.port = args.port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))

    def __enter__(self) -> _Portal:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [
            str(gunicorn),
            "config.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.args.workers}",
            f"--threads={self.args.threads}",
            f"--worker-class={self.args.worker_class}",
            "--log-level=warning",
            "--env=DJANGO_SETTINGS_MODULE=bench.settings",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        sys.exit("gunicorn did not answer /healthz within 30 s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The cases ---------------------------------------------------------------------------------


def _cases(url: str, world: _World) -> list[dict]:
    credentials = base64.b64encode(f"{CLIENT_ID}:{world.secret}".encode()).decode()
    auth = f'wrk.headers["Authorization"] = "Basic {credentials}"'
    introspect = url + "/connect/introspect"
    return [
        {"name": "baseline", "url": url + "/bench/baseline", "token": world.active, "auth": ""},
        {"name": "active", "url": introspect, "token": world.active, "auth": auth},
        {"name": "unknown", "url": introspect, "token": world.unknown, "auth": auth},
        {"name": "malformed", "url": introspect, "token": world.malformed, "auth": auth},
    ]


def _check_cases(cases: list[dict]) -> None:
    """Each case must answer what it claims before it is timed."""
    expected = {"baseline": True, "active": True, "unknown": False, "malformed": False}
    for case in cases:
        request = urllib.request.Request(
            case["url"], data=urllib.parse.urlencode({"token": case["token"]}).encode()
        )
        if case["auth"]:
            request.add_header("Authorization", case["auth"].split('= "')[1].rstrip('"'))
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        if answer.get("active") is not expected[case["name"]]:
            sys.exit(f"case {case['name']} answered {answer}, not active={expected[case['name']]}")


def _run_cases(wrk: str, cases: list[dict], args: argparse.Namespace) -> list[dict]:
    """Each case for `rounds` short runs, interleaved with the baseline; medians are reported.

    Interleaving pairs every case with a baseline run a few seconds away, so a neighbour that
    takes the CPU for a while (the load generator, PostgreSQL and anything else share the cores)
    hits both; the ratio is the median of those paired ratios.
    """
    results = []
    per_round = max(1, round(args.duration / args.rounds))
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        scripts = {}
        for case in cases:
            script = Path(tmp) / f"{case['name']}.lua"
            body = json.dumps(urllib.parse.urlencode({"token": case["token"]}))
            script.write_text(LUA.format(body=body, auth=case["auth"]))
            scripts[case["name"]] = script
        for connections in args.connections:
            rounds: dict[str, list[dict]] = {case["name"]: [] for case in cases}
            for case in cases:
                if args.warmup:
                    _wrk(wrk, case["url"], scripts[case["name"]], connections, args.warmup)
            for _ in range(args.rounds):
                for case in cases:
                    rounds[case["name"]].append(
                        _wrk(wrk, case["url"], scripts[case["name"]], connections, per_round)
                    )
            for case in cases:
                result = _combine(rounds[case["name"]], rounds["baseline"])
                result.update(name=case["name"], connections=connections)
                results.append(result)
                print(_line(result), flush=True)
    return results


def _combine(runs: list[dict], baseline_runs: list[dict]) -> dict:
    ratios = [
        run["requests_per_s"] / base["requests_per_s"]
        for run, base in zip(runs, baseline_runs, strict=True)
        if base["requests_per_s"]
    ]
    return {
        "requests_per_s": statistics.median(r["requests_per_s"] for r in runs),
        "p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "ratio_to_baseline": statistics.median(ratios) if ratios else None,
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "rounds": runs,
    }


def _wrk(wrk: str, url: str, script: Path, connections: int, duration: int) -> dict:
    # One wrk thread: the load generator shares the two cores with gunicorn and PostgreSQL.
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


def _line(result: dict) -> str:
    errors = f"  ERRORS {result['errors']}" if result["errors"] else ""
    return (
        f"  {result['name']:<10} c={result['connections']:<2} "
        f"{result['requests_per_s']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
        f"p99 {result['p99_ms']:6.2f} ms  x{result['ratio_to_baseline']:.2f} of baseline{errors}"
    )


def _print_summary(run: dict) -> None:
    print(f"\nSummary ({run['machine']['cores']} cores, {run['database']['version'][:40]}):")
    print(f"  {'tokens':>9} {'case':<10} {'conns':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for size in run["sizes"]:
        for r in size["results"]:
            print(
                f"  {size['tokens']:>9,} {r['name']:<10} {r['connections']:>5} "
                f"{r['requests_per_s']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
                f"  x{r['ratio_to_baseline']:.2f}"
            )
    if len(run["sizes"]) > 1:
        first, last = run["sizes"][0], run["sizes"][-1]
        for a, b in zip(first["results"], last["results"], strict=True):
            if a["name"] == "active":
                change = b["requests_per_s"] / a["requests_per_s"] - 1
                ratio_change = b["ratio_to_baseline"] / a["ratio_to_baseline"] - 1
                print(
                    f"  active c={a['connections']}: {last['tokens']:,} tokens vs "
                    f"{first['tokens']:,}: {change:+.1%} req/s, {ratio_change:+.1%} in the "
                    "ratio to the baseline"
                )


if __name__ == "__main__":
    main()

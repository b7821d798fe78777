#!/usr/bin/env python
"""Instructions per request of the ceiling and the cached checks, counted by valgrind's callgrind.

On a shared machine wall-clock figures move with the neighbours; instruction counts do not. This
runs each case in its own process under `valgrind --tool=callgrind`, through Django's WSGI
handler as the server calls it (production settings, PostgreSQL, the token cache on), counting
only the measured requests (after a warm-up, by callgrind's client requests through a tiny C
helper built with the system's compiler), and prints instructions per request and the ratio of
the ceiling's to each case's (a request that costs 1.25 x the ceiling's instructions runs at
best at 0.8 x its speed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal .venv/bin/python bench/instructions.py
    ... --cases ceiling fwd-active --requests 400 --keep-profiles DIR
    ... --cprofile fwd-active   # where the Python time goes (cProfile, no valgrind)

A throw-away database `<name>_instr` is created beside DATABASE_URL's and dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ("ceiling", "active", "fwd-active", "unknown", "malformed")

_HELPER = r"""
#include <valgrind/callgrind.h>
void portal_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void portal_stop(void) { CALLGRIND_DUMP_STATS_AT("measured"); CALLGRIND_STOP_INSTRUMENTATION; }
"""


def main() -> None:
    args = _arguments()
    if args.child:
        _child(args)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://...: the cache, and so the cached path, needs it.")
    database_url = _database(url, create=True)
    _environment(database_url)
    try:
        world = _seed()
        if args.cprofile:
            _cprofile(args, world)
            return
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed (apt-get install valgrind).")
        with tempfile.TemporaryDirectory(prefix="portal-instr-") as tmp:
            helper = _build_helper(Path(tmp))
            counts = {case: _count(args, case, world, helper, Path(tmp)) for case in args.cases}
        print(f"\nInstructions per request ({args.requests} measured after {args.warmup}):")
        ceiling = counts.get("ceiling")
        for case, count in counts.items():
            ratio = f"  ceiling/case {ceiling / count:.2f}" if ceiling else ""
            print(f"  {case:<12} {count:>12,.0f}{ratio}")
    finally:
        from django.db import connection

        from tokens.validation.cache import stop_process_cache
        from tokens.validation.last_use import stop_flusher

        stop_process_cache()
        stop_flusher()
        connection.close()
        _database(url, create=False)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--requests", type=int, default=400, help="measured requests (400)")
    parser.add_argument("--warmup", type=int, default=300, help="requests before counting (300)")
    parser.add_argument("--keep-profiles", type=Path, help="copy the callgrind files here")
    parser.add_argument("--cprofile", choices=CASES, help="cProfile one case instead")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def _database(url: str, *, create: bool) -> str:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    name = (parts.path.lstrip("/") or "portal") + "_instr"
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{name}"')
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _environment(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=os.environ.get("INSTR_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PORTAL_BASE_URL="",
    )
    os.environ["INSTR_SECRET_KEY"] = os.environ["SECRET_KEY"]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _seed() -> dict:
    from django.core.management import call_command

    from bench.run import _seed_world

    call_command("migrate", verbosity=0)
    world = _seed_world()
    return {"secret": world.secret, "active": world.active, "unknown": world.unknown,
            "malformed": world.malformed}  # fmt: skip


def _build_helper(tmp: Path) -> Path:
    source = tmp / "helper.c"
    source.write_text(_HELPER)
    library = tmp / "helper.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", library, source], check=True)
    return library


def _count(args, case: str, world: dict, helper: Path, tmp: Path) -> float:
    out = tmp / f"callgrind.{case}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        # Per thread: only the serving thread's count is the request's. The cache listener's
        # heartbeats and the last-use writer run beside it, on their own clock, not per request.
        "--separate-threads=yes",
        f"--callgrind-out-file={out}.%p",
        sys.executable,
        __file__,
        "--child",
        case,
        "--requests",
        str(args.requests),
        "--warmup",
        str(args.warmup),
    ]
    env = dict(os.environ, INSTR_WORLD=json.dumps(world), INSTR_HELPER=str(helper))
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{case}: the measured process failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    # callgrind.<case>.<pid>.<dump>-<thread>: thread 01 is the main (serving) thread.
    dumps = [p for p in tmp.glob(f"callgrind.{case}.*-01") if p.stat().st_size]
    total = 0
    for dump in dumps:
        match = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.M)
        if match and "measured" in dump.read_text()[:2000]:
            total += int(match.group(1))
    if args.keep_profiles:
        args.keep_profiles.mkdir(parents=True, exist_ok=True)
        for dump in dumps:
            shutil.copy(dump, args.keep_profiles / dump.name)
    print(f"  {case}: {total / args.requests:,.0f} instructions per request", flush=True)
    return total / args.requests


# --- The measured process ----------------------------------------------------------------------


def _requests(case: str, world: dict) -> tuple[dict, bytes]:
    """The WSGI environ (without its input) and the body of one request of `case`."""
    basic = base64.b64encode(f"bench-api:{world['secret']}".encode()).decode()
    environ = {
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.errors": sys.stderr,
    }
    token = world["active" if case in ("ceiling", "active", "fwd-active") else case]
    if case == "fwd-active":
        environ |= {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/connect/forward-auth",
            "HTTP_X_GATEWAY_AUTHORIZATION": f"Basic {basic}",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }
        return environ, b""
    body = urllib.parse.urlencode({"token": token}).encode()
    environ |= {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/bench/ceiling" if case == "ceiling" else "/connect/introspect",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
    }
    if case != "ceiling":
        environ["HTTP_AUTHORIZATION"] = f"Basic {basic}"
    return environ, body


def _serve_one(application, environ: dict, body: bytes) -> str:
    status = ""

    def start_response(given: str, headers: list, exc_info=None) -> None:
        nonlocal status
        status = given

    request = dict(environ, **{"wsgi.input": io.BytesIO(body)})
    response = application(request, start_response)
    for _ in response:
        pass
    response.close()
    return status


def _child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    from tokens.validation.cache import process_cache

    application = get_wsgi_application()
    world = json.loads(os.environ["INSTR_WORLD"])
    environ, body = _requests(args.child, world)
    helper = ctypes.CDLL(os.environ["INSTR_HELPER"])
    for _ in range(args.warmup):
        status = _serve_one(application, environ, body)
    cache = process_cache()
    # The cache serves nothing until its listener has heard its own first heartbeat.
    for _ in range(300):
        if cache is None or cache.stats()["trusted"]:
            break
        time.sleep(0.1)
    for _ in range(50):
        status = _serve_one(application, environ, body)
    if args.child != "ceiling" and (cache is None or not cache.stats()["hits"]):
        sys.exit(f"{args.child}: the warm-up never hit the cache ({status}); is it trusted?")
    helper.portal_start()
    for _ in range(args.requests):
        _serve_one(application, environ, body)
    helper.portal_stop()
    print(status)


def _cprofile(args: argparse.Namespace, world: dict) -> None:
    import cProfile
    import pstats

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    environ, body = _requests(args.cprofile, world)
    for _ in range(args.warmup):
        _serve_one(application, environ, body)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        _serve_one(application, environ, body)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(40)


if __name__ == "__main__":
    main()

"""The two-node revocation mode of `make bench` (`BENCH_ARGS=--two-node`).

Two portal servers (node A and node B: separate server process trees, one PostgreSQL), both
under load from wrk. For each change, a prober checks one token at node B as fast as it can
while the change is made through node A: a token revoked at A's revocation URL, a user
deactivated, an application disabled, a resource server's secret rotated (the last three through
a bench-only view of node A, which changes the models as the admin does). Reported per change:
the delay from A's response to B's first inactive answer, and the checks B answered active when
they were sent more than 100 ms after A's response returned ("late actives": must be 0).

The outage rows do the same while the listeners are being cut: the listener backends of the
benchmark database are terminated with pg_terminate_backend just before the revocation, so the
revocation happens while node B's listeners are down or reconnecting. With `--restart-database
CMD` (say `"pg_ctlcluster 15 main restart"`, on a PostgreSQL server of your own) one more row
restarts the whole server during each revocation: node A's revocation is retried while it answers
503, and no check of node B may answer active more than 100 ms after it returned.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import shlex
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

LATE_MS = 100
AFTER_S = 0.4  # how long the prober goes on after the change returned


def run_two_node(args, world, database_url: str, portal_class) -> None:
    from django.db import connection

    from bench.run import LUA, RESULTS, ROOT, _auth

    changes = _seed_changes(args.changes, world)
    connection.close()
    ports = args.ports
    node_a = portal_class(args, database_url, port=ports[0])
    node_b = portal_class(args, database_url, port=ports[1])
    wrk = shutil.which("wrk")
    rows = []
    with node_a, node_b, tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        script = Path(tmp) / "load.lua"
        body = json.dumps(urllib.parse.urlencode({"token": world.active}))
        script.write_text(LUA.format(body=body, auth=_auth(world), request=""))
        load = [
            subprocess.Popen(
                [wrk, "-t1", "-c4", "-d600s", "-s", str(script), url + "/connect/introspect"],
                stdout=subprocess.DEVNULL,
            )
            for url in (node_a.url, node_b.url)
        ]
        try:
            time.sleep(1)
            plan = [
                ("token revoked", changes["revoke"], None),
                ("user deactivated", changes["user"], None),
                ("application disabled", changes["app"], None),
                ("server secret rotated", changes["secret"], None),
                ("revoked, listeners cut", changes["outage"], "cut"),
            ]
            if args.restart_database:
                plan.append(("revoked, db restarted", changes["restart"], "restart"))
            for label, items, outage in plan:
                measured = [
                    _one_change(
                        node_a.url,
                        node_b.url,
                        item,
                        outage,
                        args.database_name,
                        args.restart_database,
                    )
                    for item in items
                ]
                rows.append(_summarise(label, measured))
                print(_row_line(rows[-1]), flush=True)
        finally:
            for process in load:
                process.terminate()
                process.wait()
    print(
        f"\nTwo-node revocation ({_cores()} cores, {args.server} {args.workers} workers per node):"
    )
    print(
        f"  {'change':<24} {'n':>3} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'asked p99':>9} {'late actives':>12} {'B checks':>8}"
    )
    for row in rows:
        print(_row_line(row))
    late = sum(row["late_actives"] for row in rows)
    print(
        f"  ms: from node A's response to node B's first inactive answer (asked: when that check"
        f" was sent); late actives: checks sent > {LATE_MS} ms after the change returned and"
        f" answered active: {late}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"two-node-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"\nWrote {path.relative_to(ROOT)}")


def _cores() -> int | None:
    import os

    return os.cpu_count()


def _seed_changes(count: int, world) -> dict[str, list[dict]]:
    from accounts.models import User
    from bench.run import CLIENT_ID
    from tokens.domain import lifecycle
    from tokens.domain.expiry import expiry_in_days
    from trustedapps.models import ResourceServer, Scope, TokenPolicy, TrustedApplication

    expires = expiry_in_days(30)
    person = User.objects.get(pk=world.user_id)
    app = TrustedApplication.objects.get(pk=world.app_id)
    scopes = list(Scope.objects.filter(pk__in=world.scope_ids))
    caller = {"client_id": CLIENT_ID, "secret": world.secret}

    def token(user=person, application=app) -> str:
        return lifecycle.issue_personal(
            user=user, application=application, expires_at=expires
        ).plaintext

    changes: dict[str, list[dict]] = {"revoke": [], "user": [], "app": [], "secret": []}
    changes["outage"], changes["restart"] = [], []
    for n in range(count):
        changes["revoke"].append({"token": token(), **caller, "change": "revoke"})
        changes["outage"].append({"token": token(), **caller, "change": "revoke"})
        changes["restart"].append({"token": token(), **caller, "change": "revoke"})
        user = User.objects.create_user(f"bench-two-node-{n}", password=None)
        changes["user"].append(
            {"token": token(user=user), **caller, "change": {"what": "user", "id": user.pk}}
        )
        other = TrustedApplication.objects.create(
            application_uri=f"com.example/two-node-{n}",
            name=f"Two node {n}",
            token_policy=TokenPolicy.AUTHENTICATED_USERS,
        )
        other.allowed_scopes.set(scopes)
        changes["app"].append(
            {"token": token(application=other), **caller, "change": {"what": "app", "id": other.pk}}
        )
        server = ResourceServer(client_id=f"two-node-{n}", name=f"two node {n}")
        secret = server.set_secret()
        server.save()
        server.scopes.set(scopes)
        changes["secret"].append(
            {
                "token": world.active,
                "client_id": server.client_id,
                "secret": secret,
                "change": {"what": "secret", "id": server.pk},
            }
        )
    return changes


def _post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _healthy(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    finally:
        conn.close()


def _check(url: str, item: dict) -> bool:
    credentials = base64.b64encode(f"{item['client_id']}:{item['secret']}".encode()).decode()
    status, body = _post(
        url,
        "/connect/introspect",
        urllib.parse.urlencode({"token": item["token"]}).encode(),
        {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return status == 200 and json.loads(body).get("active") is True


def _change(url: str, item: dict, *, retry: bool = False) -> None:
    """Make the change through node A; with `retry`, again while A answers 503 (for 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        status = _change_once(url, item)
        if status == 200 or not retry or status != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if status != 200:
        raise SystemExit(f"the change {item['change']} answered {status}")


def _change_once(url: str, item: dict) -> int:
    if item["change"] == "revoke":
        body = urllib.parse.urlencode({"token": item["token"]}).encode()
        status, _ = _post(
            url,
            "/connect/revocation",
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    else:
        status, _ = _post(
            url,
            "/bench/change",
            json.dumps(item["change"]).encode(),
            {"Content-Type": "application/json"},
        )
    return status


def _cut_listeners(database_name: str) -> None:
    """Terminate the token-cache listeners of the benchmark database (never anyone else's)."""
    from django.db import connection

    from tokens.validation.cache import APPLICATION_NAME

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            [database_name, APPLICATION_NAME],
        )


def _one_change(
    url_a: str, url_b: str, item: dict, outage: str | None, database: str, restart: str = ""
) -> dict:
    # Node B answers from its cache before the change: both workers have seen the token (after
    # a database restart, once B's workers are back).
    deadline = time.monotonic() + 30
    while not all(_check(url_b, item) for _ in range(20)):
        if time.monotonic() > deadline:
            raise SystemExit("node B does not answer active before the change")
        time.sleep(0.2)
    answers: list[tuple[float, float, bool]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            active = _check(url_b, item)
            answers.append((sent, time.monotonic(), active))

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.05)
    restarting = None
    if outage == "cut":
        _cut_listeners(database)
        time.sleep(random.uniform(0, 0.05))  # noqa: S311 - a jitter, not a secret
    elif outage == "restart":
        # The server goes down and comes back while the change is made: node A answers 503
        # until it can write (retried), node B's listeners drop and reconnect.
        restarting = subprocess.Popen(shlex.split(restart), stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while _healthy(url_a) and time.monotonic() < deadline:
            time.sleep(0.01)  # the revocation is made once the server is on its way down
    _change(url_a, item, retry=restarting is not None)
    returned = time.monotonic()
    if restarting is not None and restarting.wait(60) != 0:
        raise SystemExit(f"{restart!r} failed")
    time.sleep(AFTER_S)
    # Until B has answered at least one check sent after the bound (a check can take a while
    # under this load): "never answered inactive" must mean that, not "was not asked".
    cutoff = returned + LATE_MS / 1000
    deadline = time.monotonic() + 10
    while not any(sent > cutoff for sent, _, _ in answers) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    prober.join()
    first = next(((sent, received) for sent, received, active in answers if not active), None)
    late = sum(1 for sent, _, active in answers if active and sent > returned + LATE_MS / 1000)
    return {
        # Answered: when B's first inactive answer arrived. Asked: when that check was sent (the
        # change was visible to it by then at the latest, so this is closer to the propagation).
        "delay_ms": None if first is None else (first[1] - returned) * 1000,
        "asked_ms": None if first is None else (first[0] - returned) * 1000,
        "late_actives": late,
        "checks": len(answers),
    }


def _summarise(label: str, measured: list[dict]) -> dict:
    delays = sorted(max(0.0, m["delay_ms"]) for m in measured if m["delay_ms"] is not None)
    never = sum(1 for m in measured if m["delay_ms"] is None)
    return {
        "change": label,
        "n": len(measured),
        "p50_ms": statistics.median(delays) if delays else None,
        "p99_ms": _percentile(delays, 0.99),
        "max_ms": max(delays) if delays else None,
        "asked_p99_ms": _percentile(
            sorted(max(0.0, m["asked_ms"]) for m in measured if m["asked_ms"] is not None), 0.99
        ),
        "never_inactive": never,
        "late_actives": sum(m["late_actives"] for m in measured) + never,
        "checks": sum(m["checks"] for m in measured),
        "changes": measured,
    }


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row_line(row: dict) -> str:
    return (
        f"  {row['change']:<24} {row['n']:>3} {_ms(row['p50_ms']):>7} {_ms(row['p99_ms']):>7}"
        f" {_ms(row['max_ms']):>7} {_ms(row['asked_p99_ms']):>9} {row['late_actives']:>12}"
        f" {row['checks']:>8}"
    )

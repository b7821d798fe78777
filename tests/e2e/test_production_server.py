"""The portal as deployed: production settings (docs/production.env), `make serve` (granian),
PostgreSQL, and Chromium checking that every page keeps to the Content-Security-Policy.

The test plays nginx's part by sending the headers the documented site file sets
(X-Forwarded-Proto, X-Forwarded-For), as the one trusted proxy on loopback.
"""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.helpers import PASSWORD, production_environment
from tokens.models import ReferenceToken

PROJECT = Path(__file__).resolve().parents[2]
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="production runs on PostgreSQL (DATABASE_URL)"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log_dir: Path) -> None:
        self.url = url
        self.process = process
        self.log_dir = log_dir

    def get(self, path: str, headers: dict | None = None) -> tuple[int, Message, bytes]:
        """Status, headers (looked up in any case: granian sends them in lower case) and body."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def stop(self) -> None:
        """SIGTERM to make and the server (one process group): a graceful stop, as systemd does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)

    def log_lines(self) -> list[str]:
        return [
            line
            for name in ("stdout", "stderr")
            for line in (self.log_dir / name).read_text().splitlines()
            if line.strip()
        ]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def production_server(transactional_db, tmp_path):
    """`make serve` on a free port, on the test database, with the documented environment."""
    port = free_port()
    database = connection.settings_dict
    env = {
        **production_environment(),
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "PORTAL_BASE_URL": "",
        # Mail to files (the console would mix it into the JSON log lines).
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        # Uses are written only when the server stops, which the test checks.
        "TOKEN_LAST_USED_FLUSH": "3600",
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
    }
    stdout, stderr = (tmp_path / "stdout").open("w"), (tmp_path / "stderr").open("w")
    process = subprocess.Popen(
        ["make", "--silent", "serve"],  # noqa: S607 (make from PATH, as people run it)
        cwd=PROJECT,
        env=env,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if server.get("/healthz")[0] == 200:
                    break
            assert process.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, "the server did not come up in 60 s"
            time.sleep(0.2)
        yield server
    finally:
        server.stop()
        stdout.close()
        stderr.close()


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    assert "Content-Security-Policy" in {h["name"].title() for h in response.headers_array()}


def test_the_portal_under_make_serve_keeps_its_production_promises(
    production_server, browser, admin_user, sync_app, orders_api
):
    server = production_server

    # Security headers, as a browser behind the TLS proxy gets them.
    status, headers, body = server.get("/accounts/login/", PROXY_HEADERS)
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])
    # Plain HTTP is sent to HTTPS, except for load balancers' and Prometheus' paths.
    assert server.get("/login/")[0] == 301
    assert server.get("/healthz?probe=from-the-query-string")[0] == 200

    # Static files: collected by `make serve`, served by whitenoise under hashed names.
    stylesheet = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', body.decode())[1]
    status, headers, _ = server.get(stylesheet, PROXY_HEADERS)
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert "immutable" in headers["Cache-Control"]

    # Every page people use, in Chromium: no Content-Security-Policy violation anywhere.
    context = browser.new_context(
        base_url=server.url, extra_http_headers=PROXY_HEADERS, java_script_enabled=True
    )
    context.set_default_timeout(15_000)
    context.add_init_script(
        "window.__violations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    violations = []

    def check_page() -> None:
        page.wait_for_load_state("load")
        violations.extend(f"{page.url}: {v}" for v in page.evaluate("window.__violations"))

    visit(page, "/login/")
    check_page()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/profile/security/tokens/$"))
    check_page()
    page.get_by_role("link", name="Create personal access token").first.click()
    check_page()
    # Sync is the one application, already chosen: no htmx swap of the fields to wait for.
    page.wait_for_load_state("networkidle")
    expect(page.get_by_label("Application")).to_have_value(str(sync_app.pk))
    page.get_by_label("Description").fill("production check")
    read = page.get_by_role("checkbox", name=re.compile(r"^read"))
    read.check()
    expect(read).to_be_checked()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("heading", name="Token created")).to_be_visible()
    check_page()
    token = page.get_by_label("Your new personal access token").input_value()
    for path in [
        "/admin/",
        "/admin/tokens/referencetoken/",
        "/admin/tokens/tokenevent/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{admin_user.pk}/change/",
        f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/",
        "/admin/trustedapps/resourceserver/add/",
        f"/admin/trustedapps/resourceserver/{orders_api.server.pk}/change/",
        f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/",
    ]:
        visit(page, path)
        check_page()
    # The admin's shown-once page (the copy button, the portal's admin styles).
    page.get_by_label("Description").fill("nightly export")
    page.get_by_role("checkbox", name=re.compile(r"^read( —|$)")).check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    check_page()
    context.close()
    assert violations == []
    assert [line for line in console if "Content Security Policy" in line] == []

    # The token works at the validation URL; a wrong secret is refused and logged.
    answer = introspect(server, token, orders_api.client_id, orders_api.secret)
    assert answer["active"] is True
    assert introspect(server, token, orders_api.client_id, "wrong") == {"error": "invalid_client"}

    # /metrics, from loopback only, adds up what every worker counted.
    status, _, metrics = server.get("/metrics")
    assert status == 200
    assert b'portal_validation_requests_total{outcome="active"} 1.0' in metrics
    assert b'portal_validation_requests_total{outcome="invalid_client"} 1.0' in metrics
    assert b'portal_tokens_issued_total{kind="personal"} 1.0' in metrics
    assert server.get("/metrics", {"X-Forwarded-For": "198.51.100.7"})[0] == 403

    # A graceful stop writes the uses still buffered (here all of them: see the fixture).
    issued = ReferenceToken.objects.matching(token).get()
    assert issued.last_used_at is None
    server.stop()
    issued.refresh_from_db()
    assert issued.last_used_at is not None

    # JSON logs, one object a line, holding no token, secret or password.
    lines = server.log_lines()
    mails = [path.read_text() for path in (server.log_dir / "mail").glob("*")]
    assert any("personal access token" in mail.lower() for mail in mails)
    entries = [json.loads(line) for line in lines]
    events = {e.get("event") for e in entries}
    assert {"token.issued", "introspection.denied", "http.request"} <= events
    # The server's access lines name the path, never the query string.
    paths = {e["path"] for e in entries if e.get("event") == "http.request"}
    assert "/connect/introspect" in paths
    assert not any("?" in path for path in paths)
    assert not any("from-the-query-string" in line for line in lines)
    for text in lines + mails:
        for secret in (token, token[5:], orders_api.secret, PASSWORD):
            assert secret not in text


def introspect(server: Server, token: str, client_id: str, secret: str) -> dict:
    import base64

    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        server.url + "/connect/introspect",
        data=f"token={token}".encode(),
        headers={"Authorization": f"Basic {credentials}", **PROXY_HEADERS},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)

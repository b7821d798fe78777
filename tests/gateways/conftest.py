"""Real gateways (nginx, Caddy) run from the configurations in docs/gateways/, rendered with this
test's ports, in front of a tiny upstream that echoes the headers it got and the live portal."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

GATEWAYS = Path(__file__).resolve().parents[2] / "docs" / "gateways"


@dataclass
class Upstream:
    """The API behind the gateway: what reached it, request by request."""

    url: str
    received: list[dict[str, list[str]]] = field(default_factory=list)


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Echo(BaseHTTPRequestHandler):
        def _echo(self) -> None:
            headers: dict[str, list[str]] = {}
            for name, value in self.headers.items():
                headers.setdefault(name.lower(), []).append(value)
            upstream.received.append(headers)
            body = json.dumps({"path": self.path, "headers": headers}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _echo

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: pytest shows what matters

    return Echo


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Upstream(f"127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def render(name: str, target: Path, **values: str) -> Path:
    """docs/gateways/<name> with its {{PLACEHOLDERS}} filled in, written to `target`."""
    text = (GATEWAYS / name).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name}: a placeholder is left"
    target.write_text(text)
    return target


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the gateway exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"the gateway did not listen on {port}: {log.read_text()}")


@dataclass
class Gateway:
    name: str
    url: str


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _credential(server) -> str:
    return base64.b64encode(f"{server.client_id}:{server.secret}".encode()).decode()


def start_nginx(tmp: Path, portal: str, upstream: Upstream, server) -> Iterator[Gateway]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does it)")
    port = free_port()
    values = {
        "LISTEN": f"127.0.0.1:{port}",
        "PORTAL": portal,
        "UPSTREAM": upstream.url,
        "GATEWAY_CREDENTIAL": _credential(server),
    }
    config = render("nginx.conf", tmp / "nginx.conf", **values)
    render("identity.conf", tmp / "identity.conf", **values)
    (tmp / "tmp").mkdir()
    log = tmp / "error.log"
    process = subprocess.Popen(  # noqa: S603 - Debian's nginx, our configuration
        [binary, "-p", str(tmp), "-c", str(config), "-e", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(port, process, log)
        yield Gateway("nginx", f"http://127.0.0.1:{port}")
    finally:
        _stop(process)


def start_caddy(tmp: Path, portal: str, upstream: Upstream, server) -> Iterator[Gateway]:
    binary = shutil.which("caddy")
    if binary is None:
        pytest.skip("caddy is not installed (apt-get install caddy; .ci/run does it)")
    port = free_port()
    config = render(
        "Caddyfile",
        tmp / "Caddyfile",
        LISTEN=f"127.0.0.1:{port}",
        PORTAL=portal,
        UPSTREAM=upstream.url,
        GATEWAY_CREDENTIAL=_credential(server),
    )
    log = tmp / "caddy.log"
    # Caddy keeps state under $HOME / XDG directories: this test's, not the machine's.
    env = dict(os.environ, HOME=str(tmp), XDG_DATA_HOME=str(tmp), XDG_CONFIG_HOME=str(tmp))
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - Debian's caddy, our configuration
            [binary, "run", "--config", str(config), "--adapter", "caddyfile"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_for(port, process, log)
        yield Gateway("caddy", f"http://127.0.0.1:{port}")
    finally:
        _stop(process)


@pytest.fixture(params=["nginx", "caddy"])
def gateway(request, live_server, upstream, orders_api, tmp_path) -> Iterator[Gateway]:
    """A real gateway in front of `upstream`, checking tokens at the live portal as orders-api."""
    portal = urlsplit(live_server.url).netloc
    start = start_nginx if request.param == "nginx" else start_caddy
    yield from start(tmp_path, portal, upstream, orders_api)

"""A resource server built on django-oauth-toolkit, in a process of its own, against the live
portal (pytest-django's live_server), and the resource server the portal knows it as."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DOT_SECRET
from trustedapps.models import ResourceServer, Scope, hash_secret

ROOT = Path(__file__).resolve().parents[2]
# A URN with `:` and `/`: django-oauth-toolkit sends it raw in HTTP Basic.
DOT_CLIENT_ID = "urn:example:orders/api"


class DotServer:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture(scope="session")
def dot_server(live_server, tmp_path_factory) -> Iterator[DotServer]:
    """django-oauth-toolkit as a resource server, started once; on a free port of
    INTEROP_PORTS (e.g. 8100-8199), or any free port."""
    tmp = tmp_path_factory.mktemp("dot")
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        DOT_DATABASE=str(tmp / "dot.sqlite3"),
        DOT_INTROSPECTION_URL=f"{live_server.url}/connect/introspect",
        DOT_CLIENT_ID=DOT_CLIENT_ID,
        DOT_CLIENT_SECRET=DOT_SECRET,
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp / "server.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own module, with this interpreter
        [
            sys.executable,
            "-m",
            "tests.interop.dot_project.serve",
            os.environ.get("INTEROP_PORTS", "0"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the resource server did not start: {(tmp / 'server.log').read_text()}")
        yield DotServer(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def dot_registered(dot_server, read_scope, update_scope) -> ResourceServer:
    """The portal's record of that resource server: its secret, scopes and resource URI."""
    server = ResourceServer.objects.create(
        client_id=DOT_CLIENT_ID,
        name="Orders API (django-oauth-toolkit)",
        secret_hash=hash_secret(DOT_SECRET),
        resource_uris=[f"{dot_server.url}/api/"],
    )
    server.scopes.set(Scope.objects.filter(name__in=["read", "update"]))
    return server

"""A real OpenID provider beside the portal under test: tests/oidc/server.js, the certified
`oidc-provider` package for Node.js (`npm ci --prefix tests/oidc`; `make test` and .ci/run do it).

`oidc_provider` starts it once per test session; `sso` configures the portal for it as an
operator would (OIDC_PROVIDERS through config/oidc.py); `sign_in_through_provider` goes through
the whole authorization code flow with the test client, the provider's side over real HTTP.
The provider signs in at once the person named by `login_hint` (one of ACCOUNTS): no form.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests

from config import oidc

HERE = Path(__file__).resolve().parent
PROVIDER_ID = "test-idp"
PROVIDER_NAME = "Example IdP"
CLIENT_ID = "portal"

# The provider's people, by `sub`.
ACCOUNTS = {
    # Someone the portal does not know yet.
    "ada-0001": {
        "email": "ada@example.com",
        "email_verified": True,
        "name": "Ada Lovelace",
        "preferred_username": "ada",
    },
    # Claims alice's address without having verified it: must never become alice.
    "mallory-0002": {
        "email": "alice@example.com",
        "email_verified": False,
        "name": "Mallory",
        "preferred_username": "mallory",
    },
    # Alice at the provider, her address verified.
    "alice-0003": {
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice Liddell",
        "preferred_username": "alice",
    },
    # The admin's address, verified: the break-glass superuser is never linked by e-mail.
    "admin-0004": {
        "email": "admin@example.com",
        "email_verified": True,
        "name": "Admin at the IdP",
        "preferred_username": "admin",
    },
}


@dataclass(frozen=True)
class OpenIDProvider:
    issuer: str
    client_id: str
    secret: str

    def settings_value(self) -> str:
        """OIDC_PROVIDERS as an operator would write it."""
        return json.dumps(
            [
                {
                    "id": PROVIDER_ID,
                    "name": PROVIDER_NAME,
                    "server_url": self.issuer,
                    "client_id": self.client_id,
                    "secret": self.secret,
                }
            ]
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[OpenIDProvider]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node on PATH: the single sign-on tests need Node.js for tests/oidc")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.skip(
            "the test OpenID provider is not installed: run `npm ci --prefix tests/oidc` "
            "(make test does it when npm is there)"
        )
    port = _free_port()
    secret = secrets.token_urlsafe(24)
    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    env = dict(
        os.environ,
        OIDC_TEST_PORT=str(port),
        OIDC_TEST_CLIENT_ID=CLIENT_ID,
        OIDC_TEST_CLIENT_SECRET=secret,
        OIDC_TEST_ACCOUNTS=json.dumps(ACCOUNTS),
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - Node.js running our own tests/oidc/server.js
            [node, "server.js"], cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            issuer = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                    break
                except requests.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        process.kill()
                        log_text = log_path.read_text()
                        pytest.fail(f"the test OpenID provider did not start:\n{log_text}")
                    time.sleep(0.1)
            yield OpenIDProvider(issuer=issuer, client_id=CLIENT_ID, secret=secret)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider) -> OpenIDProvider:
    """The portal configured with the test provider, as OIDC_PROVIDERS would configure it."""
    providers = oidc.parse(oidc_provider.settings_value())
    settings.OIDC_PROVIDERS = providers
    settings.SOCIALACCOUNT_PROVIDERS = oidc.socialaccount_providers(providers)
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [
        *policy["DIRECTIVES"]["form-action"],
        *oidc.form_action_origins(providers),
    ]
    settings.CONTENT_SECURITY_POLICY = policy
    return oidc_provider


def login_url(sub: str, *, process: str = "login", next_url: str = "") -> str:
    # login_hint tells the test provider whom to sign in (allauth passes auth_params on).
    url = f"/accounts/oidc/{PROVIDER_ID}/login/?process={process}"
    url += "&auth_params=" + quote(f"login_hint={sub}", safe="")
    if next_url:
        url += "&next=" + quote(next_url, safe="")
    return url


def through_provider(authorize_url: str) -> str:
    """Follow the provider's redirects (its interaction signs in at once) back to the portal;
    the callback address it sends the browser to, path and query."""
    url = authorize_url
    with requests.Session() as browser:
        for _ in range(10):
            response = browser.get(url, allow_redirects=False, timeout=10)
            assert response.status_code in {302, 303}, response.text[:500]
            url = urljoin(url, response.headers["Location"])
            if urlsplit(url).hostname == "testserver":
                parts = urlsplit(url)
                return f"{parts.path}?{parts.query}"
    raise AssertionError(f"the provider never sent the browser back: last {url}")


def sign_in_through_provider(client, sub: str, *, process: str = "login", next_url: str = ""):
    """The whole flow, as a browser does it: the portal's "Sign in with" form, the provider,
    the portal's callback. The callback's response."""
    started = client.post(login_url(sub, process=process, next_url=next_url))
    assert started.status_code == 302, started.content[:500]
    return client.get(through_provider(started["Location"]))

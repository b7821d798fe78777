"""`manage.py check --deploy` under the production environment that docs/deploy.md documents."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.helpers import production_environment

PROJECT = Path(__file__).resolve().parents[1]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Only what the test runner needs from this process; the portal's settings come from `env`.
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "PYTHONPATH"}}
    return subprocess.run(  # noqa: S603 (our own manage.py, with our arguments)
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_documented_production_environment_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_environment())

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_a_bare_production_environment_lacks():
    bare = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **bare)

    assert result.returncode != 0
    for check in ["security.W004", "security.W008", "portal.W001"]:
        assert check in result.stderr


def test_a_malformed_proxy_ssl_header_is_refused_at_start():
    env = {**production_environment(), "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}
    result = manage("check", **env)

    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER takes a header and a value" in result.stderr

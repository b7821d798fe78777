import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth.hashers import get_hasher

from config import settings as configured

PROJECT = Path(__file__).resolve().parents[1]


def test_people_passwords_are_hashed_with_argon2_first(alice):
    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert alice.password.startswith("argon2$")
    assert get_hasher("default").algorithm == "argon2"


# What a fresh clone has: none of the portal's settings in the environment (and no .env file).
_PORTAL_VARIABLES = {"SECRET_KEY", "DEBUG", "TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_NETWORKS"}


def _environment(**env: str) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in _PORTAL_VARIABLES}
    return {**inherited, "DJANGO_SETTINGS_MODULE": "config.settings", **env}


def _start_django(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT,
        env=_environment(**env),
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_configuration_it_is_production_and_refuses_to_start_without_a_key():
    # An operator who sets nothing gets neither debug pages nor a known key: no start at all.
    result = _start_django()
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_unless_set():
    key = "x" * 50
    assert _settings_of("s.DEBUG", SECRET_KEY=key) == "False"
    assert _settings_of("s.DEBUG, s.SECRET_KEY == 'x' * 50", DEBUG="true") == "True False"


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _start_django(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_with_a_secret_key_when_debug_is_off():
    assert _start_django(DEBUG="false", SECRET_KEY="x" * 50).returncode == 0


def test_a_proxy_count_without_the_proxies_networks_is_refused_at_start():
    # X-Forwarded-For believed from any peer: a caller around the proxy would choose its address.
    result = _start_django(SECRET_KEY="x" * 50, TRUSTED_PROXY_COUNT="1")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT is 1 but TRUSTED_PROXY_NETWORKS is empty" in result.stderr


def test_a_proxy_count_with_its_networks_starts():
    networks = "127.0.0.1/32,::1/128"
    result = _start_django(
        SECRET_KEY="x" * 50, TRUSTED_PROXY_COUNT="1", TRUSTED_PROXY_NETWORKS=networks
    )
    assert result.returncode == 0, result.stderr


def test_a_proxy_network_that_is_not_one_is_refused_at_start():
    result = _start_django(
        SECRET_KEY="x" * 50, TRUSTED_PROXY_COUNT="1", TRUSTED_PROXY_NETWORKS="10.0.0.0/8,nginx"
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXY_NETWORKS: 'nginx' is not a network" in result.stderr


def _settings_of(names: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings as s; print({names})"
    return subprocess.run(  # noqa: S603 (our own code)
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env=_environment(**env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_mail_goes_to_the_console_unless_email_url_says_otherwise():
    # The console's mail goes to stderr (common/mail.py): stdout is for what commands print.
    development = {"DEBUG": "true"}
    assert _settings_of("s.EMAIL_BACKEND", **development) == "common.mail.ConsoleEmailBackend"
    assert (
        _settings_of("s.EMAIL_BACKEND", EMAIL_URL="consolemail://", **development)
        == "common.mail.ConsoleEmailBackend"
    )
    configured = _settings_of(
        "s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.ADMINS",
        **development,
        EMAIL_URL="smtp+tls://portal:pw@mail.example.com:587",
        ADMINS="Ann Admin <ann@example.com>, ops@example.com",
    )
    assert configured == (
        "django.core.mail.backends.smtp.EmailBackend mail.example.com 587 True "
        "[('Ann Admin', 'ann@example.com'), ('', 'ops@example.com')]"
    )


def test_it_refuses_a_token_cache_probe_deadline_that_is_not_above_zero():
    # Zero would have every listener send heartbeats without pause and never be trusted.
    production = {"DEBUG": "false", "SECRET_KEY": "x" * 50}
    result = _start_django(**production, TOKEN_CACHE_PROBE_DEADLINE="0")
    assert result.returncode != 0
    assert "TOKEN_CACHE_PROBE_DEADLINE is a number of seconds above 0" in result.stderr
    configured = _settings_of(
        "s.TOKEN_CACHE_PROBE_DEADLINE", **production, TOKEN_CACHE_PROBE_DEADLINE="2.5"
    )
    assert configured == "2.5"

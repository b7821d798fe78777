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


def _start_django(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _start_django(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_starts_with_a_secret_key_when_debug_is_off():
    assert _start_django(DEBUG="false", SECRET_KEY="x" * 50).returncode == 0


def _settings_of(names: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    code = f"import django; django.setup(); from django.conf import settings as s; print({names})"
    return subprocess.run(  # noqa: S603 (our own code)
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_mail_goes_to_the_console_unless_email_url_says_otherwise():
    assert _settings_of("s.EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend"
    configured = _settings_of(
        "s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.ADMINS",
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

"""config/serve.py: `make serve`'s settings for granian, from the environment."""

import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from granian.log import log_request_builder

from common.logs import AccessLineFields
from config.serve import ACCESS_FORMAT, settings_from_environment

PROJECT = Path(__file__).resolve().parents[1]

SERVER_VARIABLES = (
    "BIND", "PORT", "WEB_CONCURRENCY", "SERVER_THREADS", "SERVER_GRACEFUL_TIMEOUT",
    "SERVER_ACCESS_LOG", "LOG_FORMAT", "LOG_LEVEL",
)  # fmt: skip


@pytest.fixture
def environment(monkeypatch):
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_by_default_it_listens_on_loopback_with_a_process_per_core(environment):
    settings = settings_from_environment()

    assert (settings["address"], settings["port"]) == ("127.0.0.1", 8000)
    assert settings["interface"] == "wsgi"
    assert settings["workers"] >= 1
    assert settings["blocking_threads"] == 2
    assert settings["log_access"] is True
    assert settings["log_dictconfig"] is None


@pytest.mark.parametrize(
    ("bind", "address", "port"),
    [("0.0.0.0:80", "0.0.0.0", 80), ("[::1]:8443", "::1", 8443)],  # noqa: S104 (a value read)
)
def test_bind_takes_an_address_and_a_port(environment, bind, address, port):
    environment.setenv("BIND", bind)

    settings = settings_from_environment()

    assert (settings["address"], settings["port"]) == (address, port)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BIND", "localhost", "BIND (or PORT) gives no port"),
        ("PORT", "eighty", "BIND (or PORT) gives no port"),
        ("PORT", "70000", "BIND (or PORT) gives no port"),
        ("WEB_CONCURRENCY", "two", "WEB_CONCURRENCY must be a whole number"),
        ("SERVER_THREADS", "0", "SERVER_THREADS must be a whole number"),
        ("SERVER_GRACEFUL_TIMEOUT", "-5", "SERVER_GRACEFUL_TIMEOUT must be a whole number"),
    ],
)
def test_a_setting_it_cannot_use_stops_it_with_a_message(environment, name, value, message):
    environment.setenv(name, value)

    with pytest.raises(SystemExit, match=re.escape(message)):
        settings_from_environment()


def test_json_logs_turn_the_server_s_access_lines_into_events(environment):
    environment.setenv("LOG_FORMAT", "json")
    environment.setenv("SERVER_ACCESS_LOG", "false")

    settings = settings_from_environment()

    assert settings["log_access"] is False
    access = settings["log_dictconfig"]["handlers"]["access"]
    assert access["formatter"] == "json"
    assert access["filters"] == ["access"]


def test_the_access_line_never_names_the_query_string():
    # A token pasted into a URL must not reach the log through the server either.
    assert "query_string" not in ACCESS_FORMAT
    assert "%(path)s" in ACCESS_FORMAT


def test_an_access_line_becomes_an_http_request_event_with_fields():
    # granian's own access logger, given a request as its server hands it over.
    records: list[logging.LogRecord] = []
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    capture.addFilter(AccessLineFields())
    logger = logging.getLogger("granian.access")
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    headers = {"user-agent": "curl/8"}
    request = {
        "addr_remote": "127.0.0.1", "path": "/healthz", "qs": "token=enrt_x", "method": "GET",
        "scheme": "http", "protocol": "HTTP/1.1", "headers": headers.get,
    }  # fmt: skip
    try:
        log_request_builder(ACCESS_FORMAT)(time.time(), time.perf_counter(), request, 200)
    finally:
        logger.removeHandler(capture)

    [record] = records
    assert record.event == "http.request"  # type: ignore[attr-defined]
    fields = record.fields  # type: ignore[attr-defined]
    assert isinstance(fields.pop("duration_ms"), float)
    assert fields == {
        "peer": "127.0.0.1",
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "user_agent": "curl/8",
        "request_id": None,  # no X-Request-ID header: not the "-" of the text line
    }
    assert "token=enrt_x" not in record.getMessage()


def serve(**env: str) -> subprocess.CompletedProcess:
    """`python -m config.serve` (what `make serve` runs after collectstatic) on a free port, with
    `env` as the only portal settings."""
    portal = {"DEBUG", "SECRET_KEY", "TRUSTED_PROXY_COUNT", "TRUSTED_PROXY_NETWORKS"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inherited = {k: v for k, v in os.environ.items() if k not in portal}
    return subprocess.run(
        [sys.executable, "-m", "config.serve"],
        cwd=PROJECT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        # Nothing configured is production, which needs its own key.
        ({}, "SECRET_KEY must be set when DEBUG is off"),
        (
            {"SECRET_KEY": "x" * 50, "TRUSTED_PROXY_COUNT": "1"},
            "TRUSTED_PROXY_COUNT is 1 but TRUSTED_PROXY_NETWORKS is empty",
        ),
    ],
)
def test_settings_the_portal_refuses_stop_the_server_before_it_listens(env, message):
    # Not workers that fail to load, are respawned and fail again: one line, and no server.
    result = serve(**env)

    assert result.returncode == 1
    assert result.stderr.startswith(f"make serve: {message}")
    assert "Listening" not in result.stdout + result.stderr

"""The production server: `make serve`, or `python -m config.serve`, runs the portal under granian.

granian (a Rust HTTP server that calls the WSGI application) is the default because it measured
fastest on the path every API call takes: with the token cache, the server is most of what a
validation costs (`make bench --compare-servers`; the figures are in the README). gunicorn stays
the documented alternative: `gunicorn -c config/gunicorn.conf.py`, with the same promises.

Every value comes from the environment (or .env): PORT or BIND, WEB_CONCURRENCY, SERVER_THREADS,
SERVER_GRACEFUL_TIMEOUT, SERVER_ACCESS_LOG, LOG_FORMAT, LOG_LEVEL; see docs/deploy.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent

# The access line leaves out what can hold a secret: the query string (a token pasted into a
# URL), any Authorization (granian never logs it) and the referer (the previous page's query).
ACCESS_FORMAT = (
    '%(addr)s [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms '
    '"%(header{user-agent})s" %(header{x-request-id})s'
)


def settings_from_environment() -> dict:
    """granian's settings, from the environment as the deploy guide gives it."""
    # The settings read .env too; reading it here as well lets it hold PORT, WEB_CONCURRENCY and
    # LOG_FORMAT for the server. Variables already in the environment win, as in the settings.
    if (ROOT / ".env").exists():
        environ.Env.read_env(ROOT / ".env")
    bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"make serve: BIND (or PORT) gives no port: {bind!r}; e.g. 127.0.0.1:8000")
    return {
        "target": "config.wsgi:application",
        "interface": "wsgi",
        # Loopback by default: the reverse proxy in front is what the world talks to.
        "address": host.strip("[]") or "127.0.0.1",
        "port": int(port),
        # A process per core, as granian advises, with two threads each: a request waiting on
        # PostgreSQL leaves its process to the other. Measured on 2 cores (cached check, 8
        # connections), all within noise in throughput: p99 2-3 ms with 1 thread (but one
        # waiting page stalls a core), 5-6 ms with 2, 5-12 ms with 4 (threads take turns at
        # the GIL, which shows in the tail), 4-6 ms with 5 single-thread processes.
        "workers": _count("WEB_CONCURRENCY", os.cpu_count() or 1),
        "blocking_threads": _count("SERVER_THREADS", 2),
        "websockets": False,
        # On SIGTERM (systemd's stop) workers finish their requests; after this long, killed.
        "workers_kill_timeout": _count("SERVER_GRACEFUL_TIMEOUT", 30),
        # A worker that dies (out of memory, a crash in an extension) is replaced.
        "respawn_failed_workers": True,
        # Behind nginx, which logs every request itself, SERVER_ACCESS_LOG=0 saves the work.
        "log_access": environ.Env().bool("SERVER_ACCESS_LOG", default=True),
        "log_level": os.environ.get("LOG_LEVEL", "INFO").lower(),
        "log_access_format": ACCESS_FORMAT,
        "log_dictconfig": _json_logging() if os.environ.get("LOG_FORMAT") == "json" else None,
    }


def _count(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"make serve: {name} must be a whole number, at least 1, not {value!r}")
    return int(value)


def _json_logging() -> dict:
    """The server's own lines and its access lines as JSON, through the portal's formatter."""
    stdout = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"access": {"()": "common.logs.AccessLineFields"}},
        "formatters": {"json": {"()": "common.logs.JsonFormatter"}},
        "handlers": {"console": stdout, "access": {**stdout, "filters": ["access"]}},
        "loggers": {
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


def check_settings() -> None:
    """Read the portal's settings once, before any worker starts.

    A setting the portal refuses (no SECRET_KEY with DEBUG off, a proxy count without the
    proxies' networks) then stops the server with its message, instead of workers that fail to
    load, are respawned and fail again until granian gives up.
    """
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        settings.SECRET_KEY  # noqa: B018 (the first setting read imports them all)
    except ImproperlyConfigured as refused:
        raise SystemExit(f"make serve: {refused}") from None


def main() -> None:
    from granian import Granian

    server_settings = settings_from_environment()
    check_settings()

    # prometheus-client's multi-process mode: each worker writes its metrics to files here, and
    # /metrics adds them up. A fresh directory per server start, removed when the server stops.
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not metrics_dir:
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="portal-metrics-"
        )
    server = Granian(**server_settings)
    if os.path.basename(metrics_dir).startswith("portal-metrics-"):
        server.on_shutdown(lambda: shutil.rmtree(metrics_dir, ignore_errors=True))
    server.serve()


if __name__ == "__main__":
    main()

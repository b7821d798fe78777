"""gunicorn, the documented alternative to granian (`make serve`, config/serve.py):
`gunicorn -c config/gunicorn.conf.py`, with the same promises (access log, metrics, stops).

Every value can be overridden from the environment (PORT, BIND, WEB_CONCURRENCY, ...) or on the
command line; see docs/deploy.md.
"""

import os
import shutil
import tempfile
from pathlib import Path

import environ
from gunicorn.glogging import Logger

# The settings read .env too; reading it here as well lets it hold PORT, WEB_CONCURRENCY and
# LOG_FORMAT for the server. Variables already in the environment win, as in the settings.
_DOTENV = Path(__file__).resolve().parent.parent / ".env"
if _DOTENV.exists():
    environ.Env.read_env(_DOTENV)

wsgi_app = "config.wsgi:application"

# Loopback by default: the reverse proxy in front is what the world talks to.
bind = os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"

# Requests wait on PostgreSQL more than on the CPU: two workers per core, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)

# A worker stuck longer than this is killed and replaced (statement timeouts end well before);
# on a restart or HUP, workers get graceful_timeout to finish their requests.
# Threads: with the validation cache the database is off the hot path, and a sync worker spends
# its time opening and closing connections. Measured on the cached check (make bench
# --compare-servers, README): gthread with 4 threads served 4-5x a sync worker's rate.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5

# Workers' heartbeat files in memory, not on a disk that may stall.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn makes its files there with mkstemp)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# gunicorn's control socket defaults to ~/.gunicorn/, shared by every server of that user.
control_socket_disable = True

# Logs to stdout/stderr, for systemd's journal. The access line leaves out what can hold a
# secret: the Basic user (%(u)s: a malformed header puts a server's secret there), the query
# string (%(r)s: a token pasted into a URL) and the referer (the previous page's query).
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'
)


class JsonAccessLogger(Logger):
    """Access lines as fields of a record, for the JSON formatter (same fields as above)."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {
            "peer": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "user_agent": atoms["a"],
            "request_id": atoms.get("{x-request-id}o"),
        }
        self.access_log.info(
            "%s %s %s", atoms["m"], atoms["U"], atoms["s"],
            extra={"event": "http.request", "fields": fields},
        )  # fmt: skip


if os.environ.get("LOG_FORMAT") == "json":
    # The server's own lines as JSON too, through the portal's formatter (common/logs.py).
    logger_class = JsonAccessLogger
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "common.logs.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }  # fmt: skip

# prometheus-client's multi-process mode: each worker writes its metrics to files here, and
# /metrics adds them up. A fresh directory per server start, removed when the server stops.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="portal-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if os.path.basename(_metrics_dir).startswith("portal-metrics-"):
        shutil.rmtree(_metrics_dir, ignore_errors=True)

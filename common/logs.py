"""Log lines people and log shippers can read: plain text, or one JSON object per line.

Every record made while a request is served carries that request's id and the caller's address
(common.middleware sets them). Security events are named (`token.issued`, `signin.failed`, ...)
and carry identifiers only: a token's id and hint, a client_id, a username; never a token, a
secret or a password. As a last line of defence, anything shaped like a token is masked.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None


current_request: ContextVar[RequestContext | None] = ContextVar("current_request", default=None)

security_logger = logging.getLogger("portal.security")

_TOKEN_SHAPE = re.compile(r"enrt_[0-9A-Fa-f]{8,}")
# The attributes of every LogRecord; whatever else a record has came from `extra`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _mask(value: str) -> str:
    return _TOKEN_SHAPE.sub("enrt_[masked]", value)


def security_event(event: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log one named security event with its identifying fields (never a secret among them)."""
    details = " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)
    security_logger.log(level, "%s %s", event, details, extra={"event": event, "fields": fields})


class RequestContextFilter(logging.Filter):
    """Adds the request id and the caller's address to records made while serving a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_request.get()
        # django.request logs a response after the middleware is done, with the request.
        request = getattr(record, "request", None)
        record.request_id = context.request_id if context else getattr(request, "request_id", None)
        record.client_ip = context.client_ip if context else getattr(request, "client_ip", None)
        return True


class NotAnAnsweredOutage(logging.Filter):
    """Drops Django's "Service Unavailable" line of a request that the outage page (or JSON)
    answered: common.db.OutageLog logs an outage once, not once per request, and never mails
    ADMINS a report per request (a mail storm while the database is down)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(getattr(record, "request", None), "answered_as_outage", False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            line += f" request_id={request_id}"
        return _mask(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, event, message, request id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None),
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "client_ip": getattr(record, "client_ip", None),
        }
        entry.update(getattr(record, "fields", None) or {})
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key not in entry and key not in {"fields", "request"}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _mask(json.dumps(entry, default=str))


class AccessLineFields(logging.Filter):
    """granian's access lines as `http.request` events whose fields a log shipper can index.

    granian logs each request with its values as a mapping (config/serve.py names the format);
    the same fields as gunicorn's JSON access lines (config/gunicorn.conf.py).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        values = record.args
        if isinstance(values, dict):
            record.event = "http.request"
            record.fields = {
                "peer": values.get("addr"),
                "method": values.get("method"),
                "path": values.get("path"),
                "status": values.get("status"),
                "duration_ms": round(float(values.get("dt_ms") or 0), 1),
                "user_agent": values.get("_h0"),
                "request_id": values.get("_h1") if values.get("_h1") != "-" else None,
            }
        return True

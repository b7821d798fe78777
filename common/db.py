"""Telling a database outage (worth a 503 and a retry) from a database error that is a bug."""

from __future__ import annotations

import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created

# PostgreSQL SQLSTATE classes of a server that cannot serve now, though the request is fine:
# connection exception, transaction rollback (serialization, deadlock), insufficient resources
# (too many connections), object not in prerequisite state (lock not available), operator
# intervention (shutdown, statement timeout), system error (I/O).
_PG_TRANSIENT_CLASSES = {"08", "40", "53", "55", "57", "58"}

# SQLite's OperationalError also covers "no such table" and SQL syntax errors; only these are
# the file being unavailable for now.
_SQLITE_TRANSIENT = {
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_NOMEM",
    "SQLITE_INTERRUPT",
    "SQLITE_PROTOCOL",
}


def is_outage(error: BaseException) -> bool:
    """True when the database could not serve the query (down, unreachable, overloaded); False
    when it refused this query (a value it cannot store, a missing table): that is a bug."""
    if isinstance(error, InterfaceError):
        return True  # the connection is closed or broken
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return sqlstate[:2] in _PG_TRANSIENT_CLASSES
    sqlite_error = getattr(cause, "sqlite_errorname", None)
    if sqlite_error:
        return sqlite_error in _SQLITE_TRANSIENT
    # No answer from a server at all: the connection was refused or dropped.
    return True


logger = logging.getLogger("portal.database")

# Seconds an HTML page tells a client to wait (the public endpoints say the same).
RETRY_AFTER_SECONDS = 5


class OutageLog:
    """One log line when an outage starts and one when it ends, not one per refused request.

    Per process: each worker says it once. The outage ends when a connection is made again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._refused = 0

    def refused(self, error: BaseException, where: str) -> None:
        with self._lock:
            self._refused += 1
            first = self._since is None
            if first:
                self._since = time.monotonic()
        if first:
            logger.error(
                "Database unavailable (%s: %s), first seen in %s; answering 503 until it is "
                "back (logged once per outage).",
                type(error).__name__,
                str(error).strip().splitlines()[0] if str(error).strip() else "",
                where,
            )

    def connected(self, **kwargs: object) -> None:
        with self._lock:
            since, refused = self._since, self._refused
            self._since, self._refused = None, 0
        if since is not None:
            logger.warning(
                "Database available again after %.1f s; %d request(s) were answered 503.",
                time.monotonic() - since,
                refused,
            )


outage_log = OutageLog()
connection_created.connect(outage_log.connected, dispatch_uid="common.db.outage_log")

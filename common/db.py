"""Telling a database outage (answer 503, retry later) from a query the database refused (a bug).

Only the first is worth a "try again" page; a refused query (a NUL byte, a value out of range, a
missing table) stays an error, so that it is seen and fixed rather than passed off as an outage.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.backends.signals import connection_created

logger = logging.getLogger("portal.database")

# Seconds a client is told to wait; outages seen so far ended within seconds of the server's
# return (connections are re-made on the next request).
RETRY_AFTER_SECONDS = 5

# PostgreSQL's classes for a connection that failed or a server going away (SQLSTATE 08, 57P0x).
_PG_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03")
_SQLITE_OUTAGE_WORDS = ("unable to open", "database is locked", "disk i/o", "closed database")


def is_outage(error: BaseException) -> bool:
    """Is `error` the database being out of reach (rather than refusing a query)?"""
    if isinstance(error, InterfaceError):  # the connection itself is gone
        return True
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    module = type(cause).__module__ if cause is not None else ""
    if module.startswith("psycopg"):
        state = getattr(cause, "sqlstate", None)
        # No SQLSTATE: the client library failed (refused connection, server closed it).
        return isinstance(error, OperationalError) and (
            state is None or state.startswith(_PG_OUTAGE_STATES)
        )
    message = str(error).lower()
    return any(words in message for words in _SQLITE_OUTAGE_WORDS)


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

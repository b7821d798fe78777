"""Telling a database outage (worth a 503 and a retry) from a database error that is a bug."""

from __future__ import annotations

from django.db import DatabaseError, InterfaceError, OperationalError

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


def is_outage(error: DatabaseError) -> bool:
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

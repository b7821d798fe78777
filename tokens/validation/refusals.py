"""The last address a token was refused from for being outside its ranges (issue 23), shown on
the token's page so its owner can tell a misconfigured client from a stolen token.

Written on the refusal itself (refusals are rare next to uses), at most once per token every
REFUSAL_WRITE_INTERVAL in a process, so a flood from outside the ranges costs one write now and
then, not one per request. The column is not one the cache's triggers watch: nothing is announced.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.apps import apps
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

REFUSAL_WRITE_INTERVAL = timedelta(seconds=10)
_REMEMBER_AT_MOST = 10_000
_lock = threading.Lock()
_written: dict[int, datetime] = {}


def record(token_id: int, ip: str | None, now: datetime) -> None:
    with _lock:
        last = _written.get(token_id)
        if last is not None and now - last < REFUSAL_WRITE_INTERVAL:
            return
        if len(_written) >= _REMEMBER_AT_MOST:
            _written.clear()
        _written[token_id] = now
    table = apps.get_model("tokens", "ReferenceToken")._meta.db_table
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{table}" SET last_refused_ip = %s, last_refused_at = %s '  # noqa: S608
                "WHERE id = %s",
                [ip, now, token_id],
            )
    except DatabaseError as error:  # the refusal stands whether or not it was written
        logger.warning("Could not record a refused address: %s", str(error)[:200])


def forget() -> None:
    """For tests: every token may be written again at once."""
    with _lock:
        _written.clear()

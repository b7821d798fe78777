"""When a token was last used, and from where, recorded off the request path.

A token's `last_used_at` is written at most once per TOKEN_LAST_USED_INTERVAL. With
TOKEN_LAST_USED_FLUSH > 0 (the default on PostgreSQL) a check never waits for that write: uses
are kept in a per-process buffer that a background thread writes every TOKEN_LAST_USED_FLUSH
seconds in one statement, and once more when the process exits. The write is conditional, so
several workers that saw the same token within one interval still write it once. With 0 (the
default on SQLite, and today's behaviour) the check itself writes, with one conditional UPDATE.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing.util
import os
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

logger = logging.getLogger(__name__)

# Beyond this many remembered tokens, forget the ones whose interval has passed.
_REMEMBER_AT_MOST = 100_000

_lock = threading.Lock()
# The latest use this process knows of, per token id: checks served from the cache read an old
# last_used_at, so this is what keeps them from recording a use on every check.
_recent: dict[int, datetime] = {}
# Uses not yet written: token id -> (when, address).
_pending: dict[int, tuple[datetime, str | None]] = {}
_flusher: threading.Thread | None = None
_flusher_pid: int | None = None
_stop = threading.Event()


def _interval() -> timedelta:
    return timedelta(seconds=settings.TOKEN_LAST_USED_INTERVAL)


def record(
    token_id: int, last_used_at: datetime | None, now: datetime, ip: str | None, *, cached: bool
) -> datetime | None:
    """Note a use of the token; return the latest use known before this one.

    `last_used_at` is what the facts say; when they came from the cache they may be older than a
    use this process already recorded.
    """
    interval = _interval()
    with _lock:
        known = last_used_at
        seen = _recent.get(token_id) if cached else None
        waiting = _pending.get(token_id)
        if seen is not None and (known is None or seen > known):
            known = seen
        if waiting is not None and (known is None or waiting[0] > known):
            known = waiting[0]
        if known is not None and now - known < interval:
            return known
        if len(_recent) >= _REMEMBER_AT_MOST:
            _forget_older_than(now - interval)
        _recent[token_id] = now
        # Read here, past the usual early return above (hot path).
        buffer = buffered()
        if buffer:
            _pending[token_id] = (now, ip)
    if not buffer:
        _write({token_id: (now, ip)}, interval)
    else:
        _start_flusher()
    return known


def buffered() -> bool:
    return settings.TOKEN_LAST_USED_FLUSH > 0


def flush() -> int:
    """Write the buffered uses now, in one statement; the number of uses written."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    try:
        _write(batch, _interval())
    except DatabaseError:
        logger.exception("Could not record %d token uses; kept for the next flush", len(batch))
        with _lock:
            for token_id, use in batch.items():
                _pending.setdefault(token_id, use)
        connection.close()
        return 0
    return len(batch)


def forget() -> None:
    """Drop everything remembered and buffered (tests start from a clean process this way)."""
    with _lock:
        _recent.clear()
        _pending.clear()


def _forget_older_than(limit: datetime) -> None:
    for token_id in [t for t, used in _recent.items() if used <= limit]:
        del _recent[token_id]
    if len(_recent) >= _REMEMBER_AT_MOST:
        _recent.clear()  # only costs a few extra (conditional, harmless) writes


def _write(uses: dict[int, tuple[datetime, str | None]], interval: timedelta) -> None:
    from tokens.models import ReferenceToken

    if connection.vendor == "postgresql":
        ids, times, ips = zip(*((t, at, ip) for t, (at, ip) in uses.items()), strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE "  # noqa: S608 - only the table name from the model's metadata
                + ReferenceToken._meta.db_table
                + """ AS t SET last_used_at = u.at, last_used_ip = u.ip
                FROM unnest(%s::bigint[], %s::timestamptz[], %s::inet[]) AS u(id, at, ip)
                WHERE t.id = u.id
                  AND (t.last_used_at IS NULL OR t.last_used_at <= u.at - %s)""",
                [list(ids), list(times), list(ips), interval],  # type: ignore[list-item]
            )
        return
    # One transaction for a batch; a single use (a check writing its own) needs none.
    with transaction.atomic() if len(uses) > 1 else contextlib.nullcontext():
        for token_id, (at, ip) in uses.items():
            ReferenceToken.objects.filter(pk=token_id).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=at - interval)
            ).update(last_used_at=at, last_used_ip=ip)


def _start_flusher() -> None:
    global _flusher, _flusher_pid
    if _flusher is not None and _flusher_pid == os.getpid():
        return
    with _lock:
        if _flusher is not None and _flusher_pid == os.getpid():
            return
        _stop.clear()
        _flusher_pid = os.getpid()
        _flusher = threading.Thread(target=_flush_every_interval, name="token-last-use-flusher")
        _flusher.daemon = True
        _flusher.start()
        # Worker processes started by multiprocessing (granian's) leave through os._exit, which
        # skips atexit; their exit runs multiprocessing's finalizers instead.
        multiprocessing.util.Finalize(None, _flush_at_exit, exitpriority=10)


def _flush_every_interval() -> None:
    while not _stop.wait(settings.TOKEN_LAST_USED_FLUSH):
        try:
            flush()
        except Exception:  # the thread must outlive any one failure
            logger.exception("Token last-use flush failed")
    connection.close()


def stop_flusher() -> None:
    """Stop the background writer (its connection closes with it) and write what is left."""
    global _flusher
    _stop.set()
    thread, _flusher = _flusher, None
    if thread is not None and thread.is_alive():
        thread.join(5)
    flush()


@atexit.register  # gunicorn's workers leave through sys.exit: atexit runs
def _flush_at_exit() -> None:
    # A worker that exits (a restart, max_requests, a deploy) writes what it still holds.
    if _pending and _flusher_pid == os.getpid():
        try:
            flush()
        except Exception:
            logger.exception("Token last-use flush at exit failed")

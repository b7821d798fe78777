"""The per-process cache of validation facts, and the PostgreSQL listener that keeps it honest.

A check of a token needs the facts of one SQL row set (the caller, the token, its user and
application, the scopes they still share); the active rule is applied to those facts on every
check, cached or not, so expiry and the caller's scopes are always judged against the clock and
the caller of the moment. What is cached is only the facts, per (token hash, caller).

Every change that can alter an answer is announced by the database itself: triggers (migration
`tokens/0004_token_cache_triggers`) send `pg_notify` on one channel, whichever path made the change
(the admin, a command, a shell, plain SQL). Each worker process holds one LISTEN connection in a
background thread. The rules that make this safe:

- Nothing cached is trusted while the listener is not connected (startup, a dropped connection, a
  database restart): every check asks the database, and the cache is cleared when the listener is
  back, because notifications sent meanwhile are lost.
- A notification that cannot be parsed clears everything.
- A lookup that started before an invalidation never stores its (possibly stale) result: each
  store carries the generation it read before asking the database, and every invalidation or
  change of the listener's state moves the generation on.
- Entries also expire after a safety TTL, and the cache holds at most `size` tokens (LRU).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

logger = logging.getLogger(__name__)

CHANNEL = "portal_token_cache"
# The listener's connections carry this name, so an operator (or the benchmark) can find them in
# pg_stat_activity.
APPLICATION_NAME = "portal-token-cache"
_TOKEN_PAYLOAD = re.compile(r"t:([0-9a-f]{64})")
_ALL_PAYLOAD = re.compile(r"\*:[a-z0-9_]{1,63}")

MISS: Any = object()


class FactsCache:
    """A bounded, generation-checked map of (token hash, caller) -> facts, fed by a listener.

    Entries are grouped by token hash so that a notification naming a token drops every caller's
    entry for it in one step; the LRU order and the size bound count token hashes.
    """

    def __init__(
        self,
        *,
        size: int,
        ttl: float,
        conninfo: str | dict | Callable[[], str | dict] | None = None,
        clock: Callable[[], float] = time.monotonic,
        reconnect_delay: float = 0.2,
    ) -> None:
        self.size = max(1, size)
        self.ttl = ttl
        self.conninfo = conninfo
        self.clock = clock
        self.reconnect_delay = reconnect_delay
        self._entries: OrderedDict[str, dict[Hashable, tuple[float, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener_pid: int | None = None
        self.hits = 0
        self.misses = 0
        self.bypassed = 0
        self.invalidations = 0
        self.connects = 0

    # --- Reading and storing ---------------------------------------------------------------

    @property
    def trusted(self) -> bool:
        """True only while the listener is connected: otherwise a change could go unheard."""
        return self._connected

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, token_hash: str, caller: Hashable) -> Any:
        """The cached facts, or MISS (also whenever the listener is not connected)."""
        if not self._connected:
            self.bypassed += 1
            return MISS
        with self._lock:
            callers = self._entries.get(token_hash)
            found = callers.get(caller) if callers is not None else None
            if found is None or self.clock() - found[0] >= self.ttl:
                self.misses += 1
                return MISS
            self._entries.move_to_end(token_hash)
            self.hits += 1
            return found[1]

    def put(self, token_hash: str, caller: Hashable, facts: Any, generation: int) -> bool:
        """Store facts read by a lookup that began at `generation`; refused if anything changed
        since (an invalidation, the listener dropping) or while the listener is down."""
        with self._lock:
            if not self._connected or generation != self._generation:
                return False
            callers = self._entries.get(token_hash)
            if callers is None:
                callers = self._entries[token_hash] = {}
                if len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(token_hash)
            callers[caller] = (self.clock(), facts)
            return True

    def __len__(self) -> int:
        return len(self._entries)

    # --- Invalidating ----------------------------------------------------------------------

    def drop(self, token_hash: str) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            self._entries.pop(token_hash, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            self._entries.clear()

    def apply(self, payload: str) -> None:
        """Act on one notification: a token's hash drops that token, anything else clears all."""
        token = _TOKEN_PAYLOAD.fullmatch(payload)
        if token is not None:
            self.drop(token.group(1))
            return
        if not _ALL_PAYLOAD.fullmatch(payload):
            logger.warning("Unparsable token cache notification; clearing the cache")
        self.clear()

    def _set_connected(self, connected: bool) -> None:
        with self._lock:
            # Either way the cache starts over: what it held was heard by a listener that is
            # gone, or was never heard at all.
            self._generation += 1
            self._entries.clear()
            self._connected = connected

    # --- The listener ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the LISTEN thread of this process (again after a fork: threads do not survive)."""
        if self._thread is not None and self._listener_pid == os.getpid():
            return
        if self._listener_pid is not None and self._listener_pid != os.getpid():
            self._set_connected(False)  # a forked copy: its parent's listener is not ours
        self._stop.clear()
        self._listener_pid = os.getpid()
        self._thread = threading.Thread(target=self._listen, name="token-cache-listener")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            thread.join(timeout)
        self._set_connected(False)

    def wait_until_trusted(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._connected and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._connected

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                conninfo = self.conninfo() if callable(self.conninfo) else self.conninfo
                with _connect(conninfo) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connects += 1
                    self._set_connected(True)
                    self._receive(conn)
            except (psycopg.Error, OSError) as exc:
                if not self._stop.is_set():
                    # psycopg's messages name the server and user, never a password.
                    logger.warning("Token cache listener disconnected: %s", str(exc)[:200])
            finally:
                self._set_connected(False)
            self._stop.wait(self.reconnect_delay)

    def _receive(self, conn) -> None:
        idle = 0.0
        while not self._stop.is_set():
            heard = False
            for notify in conn.notifies(timeout=0.5):
                heard = True
                self.apply(notify.payload)
            idle = 0.0 if heard else idle + 0.5
            if idle >= 10.0:
                # A connection that silently died (no FIN) would never raise: ask it something.
                conn.execute("SELECT 1")
                idle = 0.0

    def stats(self) -> dict[str, int | bool]:
        return {
            "pid": os.getpid(),
            "trusted": self._connected,
            "entries": len(self._entries),
            "hits": self.hits,
            "misses": self.misses,
            "bypassed": self.bypassed,
            "invalidations": self.invalidations,
            "connects": self.connects,
        }


def _connect(conninfo: str | dict | None):
    import psycopg

    keepalives: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "connect_timeout": 5,
        "application_name": APPLICATION_NAME,
    }
    if isinstance(conninfo, str):
        return psycopg.connect(conninfo, autocommit=True, **keepalives)
    return psycopg.connect(autocommit=True, **{**(conninfo or {}), **keepalives})


# --- The process's cache ------------------------------------------------------------------------

_process_cache: FactsCache | None = None
_process_lock = threading.Lock()


def process_cache() -> FactsCache | None:
    """This worker process's cache, listener started; None when TOKEN_CACHE is off."""
    from django.conf import settings

    if not getattr(settings, "TOKEN_CACHE", False):
        return None
    cache = _process_cache
    # The hot path: one check per request, so no system call and no database wrapper here.
    if cache is not None and cache._listener_pid == _pid:
        return cache
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    return _start_process_cache()


_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def _start_process_cache() -> FactsCache:
    global _process_cache
    from django.conf import settings

    with _process_lock:
        if _process_cache is None:
            _process_cache = FactsCache(
                size=settings.TOKEN_CACHE_SIZE,
                ttl=settings.TOKEN_CACHE_TTL,
                # Read at every (re)connection: the settings may have changed since.
                conninfo=listener_conninfo,
            )
        _process_cache.start()
        return _process_cache


def listener_conninfo() -> str | dict:
    """TOKEN_CACHE_LISTEN_URL, or the default database's own connection parameters (so a test
    run listens on its test database)."""
    from django.conf import settings
    from django.db import connection

    url = getattr(settings, "TOKEN_CACHE_LISTEN_URL", "")
    if url:
        return url.replace("postgres://", "postgresql://", 1)
    params = connection.get_connection_params()
    return {
        key: params[key]
        for key in ("dbname", "user", "password", "host", "port", "sslmode", "options")
        if params.get(key) not in (None, "")
    }


def stop_process_cache() -> None:
    global _process_cache
    with _process_lock:
        if _process_cache is not None:
            _process_cache.stop()
        _process_cache = None


def forget_locally(token_hashes: list[str] | None = None) -> None:
    """Invalidate in this process at once (the listener hears it too, a moment later): a check
    answered by the process that made a change must see it immediately."""
    cache = _process_cache
    if cache is None:
        return
    if token_hashes is None:
        cache.clear()
    else:
        for token_hash in token_hashes:
            cache.drop(token_hash)

"""The per-process cache of validation facts, and the PostgreSQL listener that keeps it honest.

A check of a token needs the facts of one SQL row set (the caller, the token, its user and
application, the scopes they still share); the active rule is applied to those facts on every
check, cached or not, so expiry and the caller's scopes are always judged against the clock and
the caller of the moment. What is cached is only the facts, per (token hash, caller).

Every change that can alter an answer is announced by the database itself: triggers (migration
`tokens/0004_token_cache_triggers`) send `pg_notify` on one channel, whichever path made the change
(the admin, a command, a shell, plain SQL). Each worker process holds one LISTEN connection in a
background thread. The rules that make this safe:

- A listener is trusted only while it proves that it hears: every quarter of `probe_deadline` it
  sends a notification of its own (a heartbeat) through an ordinary connection to the database
  the portal writes to, and the cache serves nothing once the latest heartbeat it heard was sent
  more than `probe_deadline` seconds ago. Notifications arrive in commit order, so hearing a
  heartbeat proves that every change committed before it was sent has been heard: a change goes
  unheard for at most `probe_deadline`, whether the listener is pointed at another database,
  sits behind a pooler that cannot carry LISTEN, or hangs on a connection that silently died.
- Nothing cached is trusted meanwhile (startup, a dropped or deaf connection, a database
  restart): every check asks the database, and the cache starts empty when trust comes back,
  because notifications sent meanwhile are lost.
- A notification that cannot be parsed clears everything.
- A lookup that started before an invalidation never stores its (possibly stale) result: each
  store carries the generation it read before asking the database, and every invalidation or
  change of trust moves the generation on.
- Entries also expire after a safety TTL (an expired entry is dropped when read), and the cache
  holds at most `size` entries (LRU), whatever callers send.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

CHANNEL = "portal_token_cache"
# The listener's connections carry this name, so an operator (or the benchmark) can find them in
# pg_stat_activity; the connection that sends its heartbeats carries the second.
APPLICATION_NAME = "portal-token-cache"
PROBE_APPLICATION_NAME = "portal-token-cache-probe"
_TOKEN_PAYLOAD = re.compile(r"t:([0-9a-f]{64})")
_ALL_PAYLOAD = re.compile(r"\*:[a-z0-9_]{1,63}")
# A listener's heartbeat: its connection's nonce and a sequence number. Every worker hears every
# worker's heartbeats, and ignores all but its own.
_HEARTBEAT_PAYLOAD = re.compile(r"h:[0-9a-f]{16}:[0-9]{1,19}")

MISS: Any = object()

Conninfo = str | dict | Callable[[], str | dict] | None


class _Deaf(Exception):
    """The listener's connection did not bring back its own heartbeat in time."""


class FactsCache:
    """A bounded, generation-checked map of (token hash, caller) -> facts, fed by a listener.

    The LRU order and the size bound count entries, one per (token hash, caller); an index by
    token hash lets a notification naming a token drop every caller's entry for it in one step.
    """

    def __init__(
        self,
        *,
        size: int,
        ttl: float,
        probe_deadline: float,
        conninfo: Conninfo = None,
        probe_conninfo: Conninfo = None,
        clock: Callable[[], float] = time.monotonic,
        reconnect_delay: float = 0.2,
    ) -> None:
        self.size = max(1, size)
        self.ttl = ttl
        self.probe_deadline = probe_deadline
        # Four heartbeats per deadline: a late one or two do not cost the cache its trust.
        self.probe_interval = probe_deadline / 4
        self.conninfo = conninfo
        self.probe_conninfo = probe_conninfo
        self.clock = clock
        self.reconnect_delay = reconnect_delay
        self._entries: OrderedDict[tuple[str, Hashable], tuple[float, Any]] = OrderedDict()
        self._callers: dict[str, set[Hashable]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        # Entries are served until then: the sending time of the latest heartbeat heard, plus
        # probe_deadline. Read without the lock on every check (one float).
        self._trusted_until = -math.inf
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener_pid: int | None = None
        # The listener thread's own: heartbeats in flight (payload -> when sent), the connection
        # that sends them, whether a failure was already logged.
        self._probes: dict[str, float] = {}
        self._probe_sequence = 0
        self._prober: Any = None
        self._deaf_reported = False
        self._probe_failure_reported = False
        self.hits = 0
        self.misses = 0
        self.bypassed = 0
        self.invalidations = 0
        self.connects = 0
        self.probes_sent = 0
        self.probes_heard = 0

    # --- Reading and storing ---------------------------------------------------------------

    @property
    def trusted(self) -> bool:
        """True only while the listener has lately heard its own heartbeat."""
        return self.clock() <= self._trusted_until

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, token_hash: str, caller: Hashable) -> Any:
        """The cached facts, or MISS (also whenever the listener is not trusted)."""
        now = self.clock()
        if now > self._trusted_until:
            self.bypassed += 1
            return MISS
        key = (token_hash, caller)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]
            if found is not None:
                self._forget(key)  # expired: its room goes back at once
            self.misses += 1
            return MISS

    def put(self, token_hash: str, caller: Hashable, facts: Any, generation: int) -> bool:
        """Store facts read by a lookup that began at `generation`; refused if anything changed
        since (an invalidation, trust lost or regained) or while the listener is not trusted."""
        key = (token_hash, caller)
        with self._lock:
            now = self.clock()
            if now > self._trusted_until or generation != self._generation:
                return False
            if key in self._entries:
                self._entries.move_to_end(key)
            else:
                if len(self._entries) >= self.size:
                    self._forget(next(iter(self._entries)))  # the least recently used
                self._callers.setdefault(token_hash, set()).add(caller)
            self._entries[key] = (now, facts)
            return True

    def __len__(self) -> int:
        """The number of entries, which `size` bounds."""
        return len(self._entries)

    def _forget(self, key: tuple[str, Hashable]) -> None:
        del self._entries[key]
        token_hash, caller = key
        callers = self._callers[token_hash]
        callers.discard(caller)
        if not callers:
            del self._callers[token_hash]

    # --- Invalidating ----------------------------------------------------------------------

    def drop(self, token_hash: str) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            for caller in self._callers.pop(token_hash, ()):
                del self._entries[(token_hash, caller)]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self.invalidations += 1
            self._entries.clear()
            self._callers.clear()

    def apply(self, payload: str) -> None:
        """Act on one notification: a token's hash drops that token, a heartbeat drops nothing,
        anything else clears all."""
        token = _TOKEN_PAYLOAD.fullmatch(payload)
        if token is not None:
            self.drop(token.group(1))
            return
        if _HEARTBEAT_PAYLOAD.fullmatch(payload):
            sent_at = self._probes.pop(payload, None)
            if sent_at is not None:
                self.heard(sent_at)
            return  # another worker's heartbeat, or one of ours from a connection gone
        if not _ALL_PAYLOAD.fullmatch(payload):
            logger.warning("Unparsable token cache notification; clearing the cache")
        self.clear()

    def heard(self, sent_at: float) -> None:
        """The listener heard its own heartbeat, sent at `sent_at` (by `clock`): every change
        committed before then has been heard, so entries may be served until `probe_deadline`
        after it."""
        with self._lock:
            if self._stop.is_set():
                return  # a listener being stopped proves nothing any more
            if self.clock() > self._trusted_until:
                # Trust had lapsed (or never was): what was announced meanwhile may be lost.
                self._generation += 1
                self._entries.clear()
                self._callers.clear()
            self._trusted_until = max(self._trusted_until, sent_at + self.probe_deadline)
            self.probes_heard += 1
            self._deaf_reported = False

    def _distrust(self) -> None:
        with self._lock:
            # The cache starts over: what it held was heard by a listener that is gone.
            self._generation += 1
            self._entries.clear()
            self._callers.clear()
            self._trusted_until = -math.inf

    # --- The listener ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the LISTEN thread of this process (again after a fork: threads do not survive)."""
        if self._thread is not None and self._listener_pid == os.getpid():
            return
        if self._listener_pid is not None and self._listener_pid != os.getpid():
            # A forked copy: its parent's listener and heartbeat connection are not ours. Let
            # go of the latter without closing it, which would end it for the parent too
            # (psycopg never finishes a connection in a process other than its own). The lock
            # may have been held at the fork by a thread the child does not have.
            self._lock = threading.Lock()
            self._distrust()
            self._prober = None
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
        self._distrust()

    def wait_until_trusted(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.trusted and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.trusted

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with self._open(self.conninfo, APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connects += 1
                    self._receive(conn)
            except (psycopg.Error, OSError) as exc:
                if not self._stop.is_set():
                    # psycopg's messages name the server and user, never a password.
                    logger.warning("Token cache listener disconnected: %s", str(exc)[:200])
            except _Deaf:
                pass  # reported when first noticed; a new connection may hear
            finally:
                self._distrust()
            self._stop.wait(self.reconnect_delay)
        self._close_prober()

    def _receive(self, conn) -> None:
        """Apply notifications as they come, send a heartbeat every probe_interval, and give up
        the connection once it has brought back none sent within probe_deadline."""
        nonce = secrets.token_hex(8)
        self._probes.clear()
        connected_at = next_probe = self.clock()
        wait = min(0.25, self.probe_interval)
        while not self._stop.is_set():
            now = self.clock()
            if now >= next_probe:
                self._probe(nonce)
                next_probe = now + self.probe_interval
            if now > max(self._trusted_until, connected_at + self.probe_deadline):
                self._report_deaf()
                raise _Deaf
            for notify in conn.notifies(timeout=wait):
                self.apply(notify.payload)

    def _probe(self, nonce: str) -> None:
        """Send a heartbeat through an ordinary connection to the database the portal writes
        to (never the listener's own, which a pooler could answer itself)."""
        import psycopg

        self._probe_sequence += 1
        payload = f"h:{nonce}:{self._probe_sequence}"
        sent_at = self.clock()
        try:
            if self._prober is None:
                self._prober = self._open(self.probe_conninfo, PROBE_APPLICATION_NAME)
            self._prober.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
        except (psycopg.Error, OSError) as exc:
            self._close_prober()
            if not self._probe_failure_reported:
                logger.warning("Token cache heartbeat not sent: %s", str(exc)[:200])
                self._probe_failure_reported = True
            return
        self._probe_failure_reported = False
        # Heartbeats heard too late to extend trust are not worth waiting for.
        for old in [p for p, at in self._probes.items() if at < sent_at - self.probe_deadline]:
            del self._probes[old]
        self._probes[payload] = sent_at
        self.probes_sent += 1

    def _report_deaf(self) -> None:
        if self._deaf_reported:
            return  # once until it hears again: a wrong setting would otherwise log every cycle
        self._deaf_reported = True
        logger.warning(
            "Token cache listener heard none of its heartbeats within %s s: every check asks "
            "the database until it does; reconnecting. TOKEN_CACHE_LISTEN_URL must reach the "
            "database the portal writes to, directly (not through a transaction-mode pooler).",
            self.probe_deadline,
        )

    def _close_prober(self) -> None:
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.close()

    def _open(self, conninfo: Conninfo, application_name: str):
        resolved = conninfo() if callable(conninfo) else conninfo
        # A connection that silently died must fail, not hang: keepalives for an idle one, and
        # tcp_user_timeout for one with data the server never acknowledges (without it, minutes
        # of retransmissions). The heartbeats find a deaf one that is alive.
        return _connect(
            resolved,
            application_name=application_name,
            tcp_user_timeout=max(1000, int(self.probe_deadline * 1000)),
        )

    def stats(self) -> dict[str, int | bool]:
        return {
            "pid": os.getpid(),
            "trusted": self.trusted,
            "entries": len(self._entries),
            "hits": self.hits,
            "misses": self.misses,
            "bypassed": self.bypassed,
            "invalidations": self.invalidations,
            "connects": self.connects,
            "probes_sent": self.probes_sent,
            "probes_heard": self.probes_heard,
        }


def _connect(conninfo: str | dict | None, *, application_name: str, tcp_user_timeout: int):
    import psycopg

    options: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": tcp_user_timeout,
        "connect_timeout": 5,
        "application_name": application_name,
    }
    if isinstance(conninfo, str):
        return psycopg.connect(conninfo, autocommit=True, **options)
    return psycopg.connect(autocommit=True, **{**(conninfo or {}), **options})


# --- The process's cache ------------------------------------------------------------------------

_process_cache: FactsCache | None = None
_process_lock = threading.Lock()


def process_cache() -> FactsCache | None:
    """This worker process's cache, listener started; None when TOKEN_CACHE is off."""
    if not settings.TOKEN_CACHE:
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

    with _process_lock:
        if _process_cache is None:
            _process_cache = FactsCache(
                size=settings.TOKEN_CACHE_SIZE,
                ttl=settings.TOKEN_CACHE_TTL,
                probe_deadline=settings.TOKEN_CACHE_PROBE_DEADLINE,
                # Read at every (re)connection: the settings may have changed since.
                conninfo=listener_conninfo,
                probe_conninfo=database_conninfo,
            )
        _process_cache.start()
        return _process_cache


def listener_conninfo() -> str | dict:
    """TOKEN_CACHE_LISTEN_URL, or the default database's own connection parameters (so a test
    run listens on its test database)."""
    url = settings.TOKEN_CACHE_LISTEN_URL
    if url:
        return url.replace("postgres://", "postgresql://", 1)
    return database_conninfo()


def database_conninfo() -> dict:
    """The default database's connection parameters: where the portal writes, and so where the
    heartbeats go, whatever the listener's own connection says."""
    from django.db import connection

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

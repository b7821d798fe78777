"""The buffer of token uses (tokens/validation/last_use.py): kept off the request path, written
in one go, at most once per interval, and never over a newer use another worker wrote.

Most tests write a check's use at once (tests/conftest.py sets TOKEN_LAST_USED_FLUSH to 0); these
turn the buffer on, as production on PostgreSQL has it, and flush it themselves.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.helpers import database_unreachable
from tokens.domain.lifecycle import IssuedToken
from tokens.models import ReferenceToken
from tokens.validation import last_use


@pytest.fixture
def buffered(settings):
    settings.TOKEN_LAST_USED_FLUSH = 3600  # flushed by the test, never by the thread in time


def last_used(issued: IssuedToken) -> tuple[datetime | None, str | None]:
    token = ReferenceToken.objects.get(pk=issued.token.pk)
    return token.last_used_at, token.last_used_ip


def test_uses_wait_in_the_buffer_until_a_flush_writes_them_together(
    buffered, alice_token, sync_service_token
):
    now = timezone.now()
    for issued, address in ((alice_token, "192.0.2.1"), (sync_service_token, "2001:db8::7")):
        assert last_use.record(issued.token.pk, None, now, address, cached=False) is None
    assert last_used(alice_token) == (None, None)  # the check did not wait for a write

    with CaptureQueriesContext(connection) as queries:
        assert last_use.flush() == 2

    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    # PostgreSQL: one statement for the batch; SQLite: one per token, in one transaction.
    assert len(updates) == (1 if connection.vendor == "postgresql" else 2)
    assert last_used(alice_token) == (now, "192.0.2.1")
    assert last_used(sync_service_token) == (now, "2001:db8::7")
    assert last_use.flush() == 0  # nothing left to write


def test_a_token_is_recorded_once_per_interval(buffered, alice_token, settings):
    pk = alice_token.token.pk
    interval = timedelta(seconds=settings.TOKEN_LAST_USED_INTERVAL)
    first = timezone.now()
    last_use.record(pk, None, first, "192.0.2.1", cached=False)
    # A cached check still reads "never used": the use this process recorded wins.
    assert last_use.record(pk, None, first + interval / 2, "192.0.2.2", cached=True) == first
    assert last_use.flush() == 1
    assert last_used(alice_token) == (first, "192.0.2.1")

    later = first + interval
    assert last_use.record(pk, first, later, "192.0.2.3", cached=True) == first

    assert last_use.flush() == 1
    assert last_used(alice_token) == (later, "192.0.2.3")


def test_a_newer_use_written_by_another_worker_is_kept(buffered, alice_token):
    pk = alice_token.token.pk
    ours = timezone.now()
    last_use.record(pk, None, ours, "192.0.2.1", cached=False)
    theirs = ours + timedelta(seconds=1)
    # Another worker saw the token a moment later and flushed first.
    ReferenceToken.objects.filter(pk=pk).update(last_used_at=theirs, last_used_ip="198.51.100.9")

    last_use.flush()

    assert last_used(alice_token) == (theirs, "198.51.100.9")


def test_a_flush_that_cannot_reach_the_database_keeps_the_uses_for_the_next(
    buffered, transactional_db, alice_token
):
    now = timezone.now()
    last_use.record(alice_token.token.pk, None, now, "192.0.2.1", cached=False)

    with database_unreachable():
        assert last_use.flush() == 0

    assert last_use.flush() == 1
    assert last_used(alice_token) == (now, "192.0.2.1")


@pytest.fixture
def flushing_often(settings, transactional_db):
    """The background writer, every 50 ms (its own connection sees only committed rows)."""
    last_use.stop_flusher()  # one started by an earlier test waits an hour
    settings.TOKEN_LAST_USED_FLUSH = 0.05
    yield
    last_use.stop_flusher()


def test_the_background_writer_flushes_on_its_own(flushing_often, alice_token):
    now = timezone.now()
    last_use.record(alice_token.token.pk, None, now, "192.0.2.1", cached=False)

    deadline = time.monotonic() + 10  # generous: nothing asserts on the clock
    while last_used(alice_token) != (now, "192.0.2.1") and time.monotonic() < deadline:
        time.sleep(0.01)

    assert last_used(alice_token) == (now, "192.0.2.1")

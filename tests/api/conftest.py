"""What the endpoint tests share: a resource server's way of calling, and a database gone away."""

import base64
import contextlib
import socket
import sqlite3

import pytest
from django.db import connection

from tokens.validation.cache import stop_process_cache

FORM = "application/x-www-form-urlencoded"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _closed_port() -> int:
    # Bound then released: nothing listens there for the next instant.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def database_unreachable():
    """Really take the database away from the code under test, then give it back.

    PostgreSQL: the connection is closed and its settings point at a port where nothing listens,
    so the next query fails to connect, as when the server is down; the token cache's listener
    goes too (its connection would drop), so nothing cached is trusted meanwhile. SQLite (in
    memory, which dies with its connection): the live connection is swapped for one that aborts
    every statement with an OperationalError (SQLite's word for a database it cannot use now),
    then swapped back.
    """
    if connection.vendor == "postgresql":
        stop_process_cache()
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)
    else:
        connection.ensure_connection()
        alive = connection.connection
        dead = sqlite3.connect(":memory:", check_same_thread=False)
        dead.set_progress_handler(lambda: 1, 1)  # "interrupted", at the first step
        connection.connection = dead
        try:
            yield
        finally:
            connection.connection = alive
            dead.close()


@pytest.fixture
def unreachable_database(transactional_db):
    """A context manager; transactional_db, since a closed connection cannot roll back a test."""
    return database_unreachable

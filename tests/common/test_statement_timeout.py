"""PostgreSQL statement timeouts: a locked table costs a web request seconds, never a hang."""

import contextlib

import psycopg
import pytest
from django.db import connection
from django.test import Client

from tests.helpers import FORM, basic

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's"
)


@pytest.fixture
def short_timeouts(transactional_db, settings):
    settings.DATABASE_STATEMENT_TIMEOUT = 400
    settings.DATABASE_VALIDATION_STATEMENT_TIMEOUT = 150
    yield
    # A web worker's connection keeps the timeout of its last request; the test's flush after
    # this runs on a fresh one, without a limit.
    connection.close()


@contextlib.contextmanager
def table_locked(table: str):
    """Another session holds the table, as a long migration or a stuck transaction would."""
    params = connection.get_connection_params()
    with psycopg.connect(**params) as other:
        other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        yield
        other.rollback()


def current_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def introspect(client: Client, server, token: str):
    return client.post(
        "/connect/introspect",
        f"token={token}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
    )


def test_a_validation_request_on_a_locked_table_is_503_not_a_hang(
    short_timeouts, alice_token, orders_api
):
    client = Client()
    with table_locked("tokens_referencetoken"):
        response = introspect(client, orders_api, alice_token.plaintext)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": "temporarily_unavailable"}
    # The lock gone, the same connection answers again.
    assert introspect(client, orders_api, alice_token.plaintext).json()["active"] is True


def test_a_page_on_a_locked_table_is_503_with_retry_after(short_timeouts, alice, alice_token):
    client = Client()
    client.force_login(alice)
    with table_locked("tokens_referencetoken"):
        response = client.get("/profile/security/tokens/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    # The portal's own outage page, not Django's 500.
    assert "The portal is back shortly" in response.content.decode()


def test_validation_runs_with_the_shorter_timeout_and_pages_with_the_longer(
    short_timeouts, alice, alice_token, orders_api
):
    client = Client()
    introspect(client, orders_api, alice_token.plaintext)
    assert current_timeout() == "150ms"

    client.get("/accounts/login/")
    client.force_login(alice)
    client.get("/profile/security/tokens/")
    assert current_timeout() == "400ms"


def test_commands_and_tests_run_without_a_limit(transactional_db):
    # Only web requests are limited: a migration on a large table must not be cut off.
    assert current_timeout() == "0"

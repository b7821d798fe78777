"""HTML pages while the database is out of reach: the portal's 503 page, logged once per outage."""

import logging
import time

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from common.db import is_outage, outage_log
from tests.helpers import FORM, basic, database_unreachable, signed_in


@pytest.fixture
def outage(transactional_db):
    # transactional_db: a connection that was taken away cannot roll a test back.
    return database_unreachable


def assert_outage_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    content = response.content.decode()
    assert "The portal is back shortly" in content
    assert 'class="site-header"' in content  # the portal's own look


def test_the_profile_answers_503_with_retry_after(alice, outage):
    client = signed_in(alice)
    with outage():
        assert_outage_page(client.get("/profile/security/tokens/"))
        assert_outage_page(client.get("/profile/security/tokens/new/"))
    assert client.get("/profile/security/tokens/").status_code == 200


def test_signing_in_answers_503(alice, outage):
    with outage():
        response = Client().post("/accounts/login/", {"login": "alice", "password": "x"})
    assert_outage_page(response)


def test_the_admin_answers_503(admin_user, outage):
    client = signed_in(admin_user)
    with outage():
        assert_outage_page(client.get("/admin/"))
        assert_outage_page(client.get("/admin/tokens/referencetoken/"))


def test_an_outage_is_logged_once_not_per_request(alice, outage, caplog):
    client = signed_in(alice)
    # On SQLite the fixture swaps the in-memory database's connection back instead of making a
    # new one, so an outage of an earlier test never ended: end it as a reconnection would.
    outage_log.connected()
    with caplog.at_level(logging.WARNING, logger="portal.database"), outage():
        for _ in range(3):
            client.get("/profile/security/tokens/")
    errors = [r for r in caplog.records if r.name == "portal.database" and r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "Database unavailable" in errors[0].getMessage()
    if connection.vendor == "postgresql":
        # The end of the outage is the next connection made; it says how many were refused.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="portal.database"):
            assert client.get("/profile/security/tokens/").status_code == 200
        back = [r.getMessage() for r in caplog.records if r.name == "portal.database"]
        assert len(back) == 1
        assert "available again" in back[0]
        assert "3 request(s)" in back[0]


def test_an_outage_is_not_reported_to_the_admins_once_per_request(
    alice, outage, caplog, mailoutbox, settings
):
    # Each 503 was Django's "Service Unavailable" error, and a mail to ADMINS: a mail storm
    # while the database is down, when the outage log already says it once.
    settings.ADMINS = [("Ops", "ops@example.com")]
    client = signed_in(alice)
    with caplog.at_level(logging.INFO), outage():
        for path in ["/profile/security/tokens/", "/admin/", "/healthz"]:
            assert client.get(path).status_code == 503
    assert [r for r in caplog.records if r.name == "django.request"] == []
    assert mailoutbox == []


def test_a_bug_is_still_reported_to_the_admins(alice, caplog, mailoutbox, settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE tokens_referencetoken RENAME TO broken_referencetoken")
        assert client.get("/profile/security/tokens/").status_code == 500
        transaction.set_rollback(True)
    assert [m.subject for m in mailoutbox] == [
        "[Django] ERROR (EXTERNAL IP): Internal Server Error: /profile/security/tokens/"
    ]


def refused_query_error(sql: str) -> DatabaseError:
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(sql)
    return caught.value


def test_a_query_the_database_refuses_is_no_outage(db):
    # A bug or a hostile value must stay an error, never pass for "try again later".
    assert not is_outage(refused_query_error("SELECT * FROM no_such_table"))
    if connection.vendor == "postgresql":
        assert not is_outage(refused_query_error("SELECT 1/0"))
        assert not is_outage(refused_query_error("SELECT 'a\x00b'"))


def test_a_connection_that_fails_is_an_outage(outage):
    with outage(), pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert is_outage(caught.value)


def kill_this_connection() -> None:
    """Terminate the server process of the test's own connection (the one the test client's
    requests use), from another connection, and wait until it is gone: a failover, or an
    operator's pg_terminate_backend, at the worst moment."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend outlived pg_terminate_backend"
            time.sleep(0.01)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates a PostgreSQL server process"
)


@postgresql_only
def test_a_connection_killed_as_the_session_loads_is_the_outage_page(
    alice, transactional_db, settings
):
    # With a statement timeout to set, a page's first statement is the timeout hook's SET, just
    # before the session loads: the connection dies there.
    settings.DATABASE_STATEMENT_TIMEOUT = 2000
    client = signed_in(alice)
    kill_this_connection()
    try:
        response = client.get("/profile/security/tokens/")
    finally:
        connection.close()

    assert_outage_page(response)
    assert client.get("/profile/security/tokens/").status_code == 200


@postgresql_only
def test_a_connection_killed_before_a_check_is_the_json_503(
    alice_token, orders_api, transactional_db, settings
):
    settings.DATABASE_VALIDATION_STATEMENT_TIMEOUT = 500
    client = Client()
    kill_this_connection()
    try:
        response = client.post(
            "/connect/introspect",
            f"token={alice_token.plaintext}",
            content_type=FORM,
            HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
        )
    finally:
        connection.close()

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"


def test_a_table_gone_missing_is_a_500_not_an_outage(alice):
    # SQLite calls a missing table an OperationalError, as it calls a locked file; PostgreSQL a
    # ProgrammingError. Either way a broken schema is a bug to fix, never "try again later".
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE tokens_referencetoken RENAME TO broken_referencetoken")
        response = client.get("/profile/security/tokens/")
        transaction.set_rollback(True)

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "The portal is back shortly" not in response.content.decode()

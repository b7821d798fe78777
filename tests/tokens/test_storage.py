"""What the database keeps: never a plaintext token, and a unique index on the hash."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.views.debug import ExceptionReporter

from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from tokens.validation.checks import InvalidClient, check_for_holder, check_for_resource_server
from trustedapps.models import Scope


def every_row_of_every_table() -> str:
    """The whole database as text: every row of every table, every column."""
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def test_no_table_holds_a_plaintext_token_after_issuing_and_using_many(
    alice, carol, sync_app, reports_app, orders_api, search_api, read_scope
):
    expiry = expiry_in_days(7)
    issued = [
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=expiry, description=f"pat {n}"
        )
        for n in range(20)
    ]
    issued += [
        lifecycle.issue_service(
            admin=carol, application=reports_app, expires_at=expiry, scopes=[read_scope]
        )
        for _ in range(10)
    ]
    for n, token in enumerate(issued):
        for server in (orders_api, search_api):
            check_for_resource_server(
                token.plaintext,
                client_id=server.client_id,
                client_secret=server.secret,
                client_ip="192.0.2.10",
            )
        check_for_holder(token.plaintext)
        if n % 3 == 0:
            lifecycle.revoke_token(token.token, by=alice, reason="rotation", ip="192.0.2.10")
    # Revoked by the command too, given the token itself.
    call_command("revoke_token", issued[1].plaintext, stdout=StringIO(), stderr=StringIO())

    dump = every_row_of_every_table()
    assert "enrt_" in "".join(t.plaintext for t in issued)  # the search below can match
    assert ReferenceToken.objects.count() == 30
    for token in issued:
        secret = token.plaintext[5:]
        assert secret not in dump
        assert secret.lower() not in dump
        assert token.plaintext not in dump
    for server in (orders_api, search_api):
        assert server.secret not in dump


def test_the_hash_is_what_the_database_keeps(alice_token):
    from tokens.format import hash_token

    assert ReferenceToken.objects.filter(token_hash=hash_token(alice_token.plaintext)).exists()


def test_the_lookup_by_hash_is_a_unique_index(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, ReferenceToken._meta.db_table
        )
    on_hash = [c for c in constraints.values() if c["columns"] == ["token_hash"]]
    assert [c["unique"] for c in on_hash] == [True]  # one index, unique (no second _like index)


def test_two_tokens_cannot_share_a_hash(alice_token, alice, sync_app):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferenceToken.objects.create(
            kind="personal",
            user=alice,
            application=sync_app,
            token_hash=alice_token.token.token_hash,
            hint="XXXX",
        )


def test_an_error_report_during_issuing_never_shows_the_token(alice, sync_app, in_30_days):
    # An unsaved scope passes the name check, then fails inside the transaction that issues.
    with pytest.raises(ValueError) as excinfo:
        lifecycle.issue_personal(
            user=alice, application=sync_app, expires_at=in_30_days, scopes=[Scope(name="read")]
        )
    frame = next(
        tb.tb_frame
        for tb in _tracebacks(excinfo.value.__traceback__)
        if "plaintext" in tb.tb_frame.f_locals
    )
    plaintext = frame.f_locals["plaintext"]
    # From the first frame of our code on (this test's own frame holds the token too, of course).
    ours = excinfo.value.__traceback__.tb_next
    report = ExceptionReporter(None, ValueError, excinfo.value, ours)
    assert plaintext not in report.get_traceback_html()
    assert not ReferenceToken.objects.exists()  # and nothing was half written


def _tracebacks(tb):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def test_an_error_report_during_a_check_never_shows_the_token(alice_token, orders_api):
    # A caller's secret of the wrong type is refused inside the check, with the token in scope.
    with pytest.raises(InvalidClient) as excinfo:
        check_for_resource_server(
            alice_token.plaintext, client_id=orders_api.client_id, client_secret=42
        )
    ours = excinfo.value.__traceback__.tb_next
    report = ExceptionReporter(None, InvalidClient, excinfo.value, ours)
    assert alice_token.plaintext not in report.get_traceback_html()

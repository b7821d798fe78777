"""POST /connect/introspect: what resource servers call on every request they serve."""

import io
import json
import logging
import time
from datetime import timedelta
from urllib.parse import quote, quote_plus, urlencode

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.views.debug import ExceptionReporter

from common.db import outage_log
from tests.helpers import FORM, basic, register_server
from tokens.domain import lifecycle
from tokens.format import hash_token, make_token
from tokens.models import ReferenceToken
from tokens.validation.cache import APPLICATION_NAME, process_cache
from trustedapps.models import ResourceServer, Scope, TokenPolicy

URL = "/connect/introspect"
INACTIVE = b'{"active": false}'


def ask(client, server, token, *, body: dict | None = None, **extra):
    """Introspect `token` as `server` does it: HTTP Basic and a form body."""
    form = "&".join(f"{k}={v}" for k, v in ({"token": token} | (body or {})).items())
    return client.post(
        URL,
        form,
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
        **extra,
    )


# --- Active tokens ----------------------------------------------------------------------------


def test_an_active_personal_token_is_described_for_its_caller(
    client, alice, alice_token, orders_api
):
    response = ask(client, orders_api, alice_token.plaintext)

    token = alice_token.token
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "active": True,
        "token_kind": "personal",
        "scope": "read update",
        "client_id": "com.example/sync",
        "sub": str(alice.pk),
        "username": "alice",
        "iat": int(token.created_at.timestamp()),
        "exp": int(token.expires_at.timestamp()),
        "jti": str(token.pk),
        "aud": "orders-api",
    }


def test_a_service_token_acts_as_the_system_user_not_the_admin(
    client, sync_service_token, sync_app, orders_api
):
    answer = ask(client, orders_api, sync_service_token.plaintext).json()

    system_user = sync_service_token.token.user
    assert answer["token_kind"] == "service"
    assert answer["sub"] == str(system_user.pk)
    assert answer["username"] == system_user.username != "admin"


def test_scopes_narrow_to_those_the_caller_owns(client, alice_token, search_api):
    # search-api owns only `read`; the token carries `read update`.
    answer = ask(client, search_api, alice_token.plaintext).json()

    assert answer["scope"] == "read"
    assert answer["aud"] == "search-api"


def test_a_token_that_never_expires_has_no_exp(client, alice_token, orders_api):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(expires_at=None)

    answer = ask(client, orders_api, alice_token.plaintext).json()

    assert answer["active"] is True
    assert "exp" not in answer


def test_credentials_may_come_in_the_body(client, alice_token, orders_api):
    response = client.post(
        URL,
        f"token={alice_token.plaintext}&client_id=orders-api&client_secret={orders_api.secret}",
        content_type=FORM,
    )

    assert response.json()["active"] is True


def test_a_json_body_is_accepted(client, alice_token, orders_api):
    response = client.post(
        URL,
        {"token": alice_token.plaintext, "token_type_hint": "access_token"},
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
    )

    assert response.json()["active"] is True


def test_url_encoded_basic_credentials_are_decoded(client, alice_token, read_scope):
    # RFC 6749 2.3.1: the client id and secret are form-encoded before base64.
    odd = register_server("odd~api", [read_scope])
    credentials = basic("odd%7Eapi", odd.secret)

    response = client.post(
        URL, f"token={alice_token.plaintext}", content_type=FORM, HTTP_AUTHORIZATION=credentials
    )

    assert response.json()["active"] is True


# A URN-like client id with every character that form-encoding changes.
ODD_CLIENT_ID = "urn:example:orders/v1%2B+x"


@pytest.mark.parametrize(
    "encoded",
    [ODD_CLIENT_ID, quote(ODD_CLIENT_ID, safe=""), quote_plus(ODD_CLIENT_ID), quote(ODD_CLIENT_ID)],
    ids=["raw (django-oauth-toolkit, Authlib, curl)", "form-encoded", "quote_plus", "quote"],
)
def test_basic_credentials_are_read_raw_or_form_encoded(client, alice_token, read_scope, encoded):
    odd = register_server(ODD_CLIENT_ID, [read_scope])

    response = client.post(
        URL,
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(encoded, odd.secret),
    )

    assert response.json()["active"] is True
    assert response.json()["aud"] == ODD_CLIENT_ID


def test_a_client_id_that_is_another_ones_encoding_gets_its_own_answer(
    client, alice_token, read_scope, update_scope
):
    # "a%2Bb" is both a client id of its own and the form-encoding of "a+b": each secret picks
    # its server, and the answer names the server it picked.
    plus = register_server("a+b", [read_scope])
    percent = register_server("a%2Bb", [update_scope])

    for server, scope in ((plus, "read"), (percent, "update")):
        response = client.post(
            URL,
            f"token={alice_token.plaintext}",
            content_type=FORM,
            HTTP_AUTHORIZATION=basic("a%2Bb", server.secret),
        )
        assert (response.json()["aud"], response.json()["scope"]) == (server.client_id, scope)


def test_a_client_id_with_colons_in_the_body(client, alice_token, read_scope):
    odd = register_server(ODD_CLIENT_ID, [read_scope])
    body = urlencode(
        {"token": alice_token.plaintext, "client_id": ODD_CLIENT_ID, "client_secret": odd.secret}
    )

    assert client.post(URL, body, content_type=FORM).json()["active"] is True


# --- The audience: the caller's client id and its resource URIs (RFC 8707) ------------------


def test_the_audience_lists_the_callers_resource_uris(client, alice_token, orders_api):
    orders_api.server.resource_uris = ["https://orders.example.com/api", "http://127.0.0.1:8000/"]
    orders_api.server.save()

    answer = ask(client, orders_api, alice_token.plaintext).json()

    assert answer["aud"] == [
        "orders-api",
        "https://orders.example.com/api",
        "http://127.0.0.1:8000/",
    ]


def test_resource_uris_cost_no_extra_query(
    client, alice_token, orders_api, django_assert_num_queries
):
    orders_api.server.resource_uris = ["https://orders.example.com/api"]
    orders_api.server.save()
    ask(client, orders_api, alice_token.plaintext)  # its one last_used_at write

    with django_assert_num_queries(1):
        response = ask(client, orders_api, alice_token.plaintext)

    assert response.status_code == 200 and response.json()["active"] is True
    assert response.json()["aud"] == ["orders-api", "https://orders.example.com/api"]


# --- Inactive, for every reason, byte for byte the same ---------------------------------------


def _revoke(token, apps):
    lifecycle.revoke_token(token, by=None, reason="test")


def _expire(token, apps):
    ReferenceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())


def _deactivate_user(token, apps):
    token.user.is_active = False
    token.user.save()


def _disable_application(token, apps):
    token.application.is_enabled = False
    token.application.save()


def _close_policy(token, apps):
    token.application.token_policy = TokenPolicy.NONE
    token.application.save()


def _restrict_policy_to_admins(token, apps):
    # alice is no administrator: her personal token stops working at once.
    token.application.token_policy = TokenPolicy.ADMINISTRATORS_ONLY
    token.application.save()


def _withdraw_scopes_from_application(token, apps):
    token.application.allowed_scopes.clear()


def _delete(token, apps):
    ReferenceToken.objects.filter(pk=token.pk).delete()


INACTIVE_REASONS = {
    "revoked": _revoke,
    "expired": _expire,
    "user inactive": _deactivate_user,
    "application disabled": _disable_application,
    "policy none": _close_policy,
    "policy now administrators only": _restrict_policy_to_admins,
    "scopes no longer allowed by the application": _withdraw_scopes_from_application,
    "deleted": _delete,
}


@pytest.mark.parametrize("reason", INACTIVE_REASONS)
def test_an_inactive_token_gets_exactly_active_false(client, alice_token, orders_api, reason):
    INACTIVE_REASONS[reason](alice_token.token, None)

    response = ask(client, orders_api, alice_token.plaintext)

    assert response.status_code == 200
    assert response.content == INACTIVE


def test_a_service_token_dies_with_its_system_user(
    client, sync_service_token, sync_app, orders_api
):
    sync_app.has_system_user = False
    sync_app.save()

    assert ask(client, orders_api, sync_service_token.plaintext).content == INACTIVE


def test_a_caller_owning_none_of_the_scopes_sees_it_inactive(client, alice_token):
    billing = register_server("billing-api", [Scope.objects.create(name="billing")])

    assert ask(client, billing, alice_token.plaintext).content == INACTIVE


@pytest.mark.parametrize(
    "token",
    [
        make_token(),  # well-formed, never issued
        "enrt_" + "0" * 64,  # the checksum fails
        "enrt_" + "a" * 64,  # lower case
        "not a token",
        "enrt_" + "F" * 63,
        "x" * 2000,
    ],
    ids=["unknown", "bad checksum", "lower case", "words", "short", "long"],
)
def test_unknown_and_malformed_tokens_get_exactly_active_false(client, orders_api, token):
    response = ask(client, orders_api, token)

    assert response.status_code == 200
    assert response.content == INACTIVE


def test_the_inactive_answer_carries_no_hint_in_headers(client, alice_token, orders_api):
    unknown = ask(client, orders_api, make_token())
    lifecycle.revoke_token(alice_token.token, by=None)
    revoked = ask(client, orders_api, alice_token.plaintext)

    # Every response has its own request id (for the logs); nothing else may differ.
    assert unknown.headers.pop("X-Request-ID") != revoked.headers.pop("X-Request-ID")
    assert dict(unknown.items()) == dict(revoked.items())


# --- The caller ----------------------------------------------------------------------------


def _assert_invalid_client(response):
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert response["WWW-Authenticate"] == 'Basic realm="token-portal"'
    assert response["Cache-Control"] == "no-store"


def test_no_credentials_is_401(client, alice_token):
    _assert_invalid_client(client.post(URL, f"token={alice_token.plaintext}", content_type=FORM))


def test_a_wrong_secret_is_401(client, alice_token, orders_api):
    response = client.post(
        URL,
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic("orders-api", orders_api.secret + "x"),
    )

    _assert_invalid_client(response)


def test_an_unknown_client_is_401(client, alice_token, orders_api):
    response = client.post(
        URL,
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic("nobody", orders_api.secret),
    )

    _assert_invalid_client(response)


def test_a_disabled_resource_server_is_401(client, alice_token, orders_api):
    orders_api.server.is_enabled = False
    orders_api.server.save()

    _assert_invalid_client(ask(client, orders_api, alice_token.plaintext))


def test_another_servers_secret_is_401(client, alice_token, orders_api, search_api):
    response = client.post(
        URL,
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic("orders-api", search_api.secret),
    )

    _assert_invalid_client(response)


def test_a_bearer_header_is_no_caller_authentication(client, alice_token):
    response = client.post(
        URL,
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}",
    )

    _assert_invalid_client(response)


def test_a_wrong_secret_is_401_whatever_the_token(client, orders_api):
    # The caller comes first: a stale secret is told so even with a malformed token.
    for token in ("garbage", "enrt_" + "0" * 64, make_token()):
        response = client.post(
            URL, f"token={token}", content_type=FORM, HTTP_AUTHORIZATION=basic("orders-api", "x")
        )
        _assert_invalid_client(response)


def test_a_wrong_secret_is_401_before_a_missing_token_is_400(client, orders_api):
    response = client.post(
        URL, "token_type_hint=access_token", content_type=FORM, HTTP_AUTHORIZATION=basic("x", "y")
    )

    _assert_invalid_client(response)


NUL_CREDENTIALS = {
    "basic client id": {"HTTP_AUTHORIZATION": basic("orders-api\x00", "secret")},
    "basic secret": {"HTTP_AUTHORIZATION": basic("orders-api", "sec\x00ret")},
    "form client id": {"data": "client_id=orders%00api&client_secret=s"},
    "json client id": {"data": {"client_id": "orders\u0000api", "client_secret": "s"}},
    "json secret": {"data": {"client_id": "orders-api", "client_secret": "\u0000"}},
    "non-ascii client id": {"HTTP_AUTHORIZATION": basic("ordérs-api", "secret")},
    "lone surrogate": {"data": '{"client_id": "\\ud800", "client_secret": "s", "token": "x"}'},
}


@pytest.mark.parametrize("credentials", NUL_CREDENTIALS.values(), ids=NUL_CREDENTIALS)
def test_credentials_no_server_can_have_are_401_not_a_fake_outage(
    client, orders_api, alice_token, credentials, django_assert_num_queries, caplog
):
    # PostgreSQL refuses a NUL in a string: such a client id never reaches it.
    request = dict(credentials)
    data = request.pop("data", f"token={alice_token.plaintext}")
    if isinstance(data, dict):
        data = json.dumps({"token": alice_token.plaintext} | data)
    content_type = "application/json" if data.startswith("{") else FORM
    with django_assert_num_queries(0):
        response = client.post(URL, data, content_type=content_type, **request)

    _assert_invalid_client(response)
    assert "Database unavailable" not in caplog.text


def test_two_authentication_methods_at_once_are_refused(client, alice_token, orders_api):
    response = ask(
        client,
        orders_api,
        alice_token.plaintext,
        body={"client_id": "orders-api", "client_secret": orders_api.secret},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- Malformed requests -----------------------------------------------------------------------


def _post(client, server, body: bytes, content_type: str = FORM, **extra):
    return client.generic(
        "POST",
        URL,
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
        **extra,
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", FORM),
        (b"token=", FORM),
        (b"token_type_hint=access_token", FORM),
        (b"{}", "application/json"),
        (b'{"token": null}', "application/json"),
    ],
    ids=["empty", "empty token", "hint only", "empty json", "json null"],
)
def test_a_missing_token_is_400(client, orders_api, body, content_type):
    response = _post(client, orders_api, body, content_type)

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The token parameter is missing.",
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"token=%FF%FE", FORM),
        (b"token=\xff\xfe", FORM),
        (b"token=%zz", FORM),
        (b"token=%4", FORM),
        (b"token=a&token=b", FORM),
        (b'{"token": 5}', "application/json"),
        (b'{"token": ["enrt_"]}', "application/json"),
        (b'["token"]', "application/json"),
        (b'"token"', "application/json"),
        (b"{token", "application/json"),
        (b'{"token": "\xff"}', "application/json"),
        (b'{"token": "a", "token": "b"}', "application/json"),
        (b'{"token": "a", "client_secret": 5}', "application/json"),
    ],
    ids=[
        "percent-encoded non-utf8",
        "raw non-utf8",
        "bad percent escape",
        "cut percent escape",
        "repeated parameter",
        "json token number",
        "json token list",
        "json array",
        "json string",
        "json syntax",
        "json non-utf8",
        "json repeated key",
        "json secret not a string",
    ],
)
def test_odd_encodings_are_400_not_500(client, orders_api, body, content_type):
    response = _post(client, orders_api, body, content_type)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_json_nested_4000_deep_is_400_not_500(client, orders_api):
    # Regression: a RecursionError (no ValueError) escaped the JSON parser as a 500.
    response = _post(client, orders_api, b"[" * 4000, "application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The JSON body nests too deeply.",
    }


def _chunked(body: str) -> dict:
    """The environ gunicorn gives a chunked request: no Content-Length, the body de-chunked in
    a stream that ends where the body does."""
    return {
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": FORM,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body.encode()),
        "wsgi.input_terminated": True,
    }


def test_a_chunked_body_is_read_when_the_server_ends_the_stream(client, orders_api, alice_token):
    # gunicorn de-chunks a body and ends the stream (wsgi.input_terminated); Django, seeing no
    # Content-Length, would read nothing.
    response = _post(client, orders_api, b"", **_chunked(f"token={alice_token.plaintext}"))

    assert response.json()["active"] is True


def test_a_chunked_body_over_the_limit_is_413(client, orders_api):
    response = _post(client, orders_api, b"", **_chunked("token=" + "A" * 5000))

    assert response.status_code == 413


def test_a_chunked_body_the_server_cannot_end_is_411(client, orders_api, alice_token):
    response = _post(
        client,
        orders_api,
        f"token={alice_token.plaintext}".encode(),
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == 411
    assert "Content-Length" in response.json()["error_description"]
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "authorization",
    ["Basic !!!not-base64!!!", "Basic " + "//79", "Basic b3JkZXJzLWFwaQ=="],
    ids=["not base64", "not utf-8", "no colon"],
)
def test_malformed_basic_credentials_are_400(client, alice_token, authorization):
    response = client.post(
        URL, f"token={alice_token.plaintext}", content_type=FORM, HTTP_AUTHORIZATION=authorization
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        FORM + "; charset=latin-1",
    ],
)
def test_other_content_types_are_415(client, orders_api, alice_token, content_type):
    response = _post(client, orders_api, f"token={alice_token.plaintext}".encode(), content_type)

    assert response.status_code == 415
    assert response["Cache-Control"] == "no-store"


def test_a_utf8_charset_parameter_is_fine(client, orders_api, alice_token):
    body = f"token={alice_token.plaintext}".encode()

    response = _post(client, orders_api, body, FORM + "; charset=UTF-8")

    assert response.json()["active"] is True


def test_a_body_over_the_limit_is_413(client, orders_api, alice_token):
    body = f"token={alice_token.plaintext}&padding={'x' * 5000}".encode()

    response = _post(client, orders_api, body)

    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_an_announced_huge_body_is_refused_before_reading(
    client, orders_api, alice_token, django_assert_num_queries
):
    # The stream holds a few bytes but announces a gigabyte: reading would block or fail.
    with django_assert_num_queries(0):
        response = _post(client, orders_api, b"token=x", CONTENT_LENGTH=str(10**9))

    assert response.status_code == 413


def test_a_nonsense_content_length_is_400(client, orders_api):
    response = _post(client, orders_api, b"token=x", CONTENT_LENGTH="lots")

    assert response.status_code == 400


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_other_methods_are_405(client, orders_api, method):
    response = getattr(client, method)(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["error"] == "method_not_allowed"


def test_a_token_in_the_query_string_is_not_read(client, alice_token, orders_api):
    response = client.post(
        f"{URL}?token={alice_token.plaintext}",
        "",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
    )

    assert response.status_code == 400


# --- The database going away ------------------------------------------------------------------


def test_an_unreachable_database_is_503_never_active(
    client, alice_token, orders_api, unreachable_database, caplog
):
    # Logged once per outage: end an earlier test's, as the next connection made would.
    outage_log.connected()
    with caplog.at_level(logging.ERROR), unreachable_database():
        response = ask(client, orders_api, alice_token.plaintext)

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}
    assert response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    # The failure is logged, but never with the token or the caller's secret.
    assert "Database unavailable" in caplog.text
    assert alice_token.plaintext not in caplog.text
    assert orders_api.secret not in caplog.text
    # Once the database is back, so is the answer.
    assert ask(client, orders_api, alice_token.plaintext).json()["active"] is True


def ask_with_a_table_missing(server, token):
    """A check while the resource servers' table is gone (a broken schema), rolled back after."""
    table = ResourceServer._meta.db_table
    client = Client(raise_request_exception=False)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} RENAME TO broken_{table}")
        response = ask(client, server, token)
        transaction.set_rollback(True)
    return response


def test_a_database_error_that_is_no_outage_is_never_reported_as_one(
    alice_token, orders_api, caplog
):
    # A broken schema (here a table gone missing) is a bug to fix, not a reason to retry later.
    response = ask_with_a_table_missing(orders_api, alice_token.plaintext)

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Database unavailable" not in caplog.text


def test_the_error_report_of_a_failed_check_shows_no_token_and_no_secret(alice_token, orders_api):
    # What a 500 mails to the admins (or logs): every frame's variables, unless marked
    # sensitive. One mark on the endpoint hides the locals of every frame beneath it.
    response = ask_with_a_table_missing(orders_api, alice_token.plaintext)

    assert response.status_code == 500
    report = ExceptionReporter(response.wsgi_request, *response.exc_info)
    frames = {frame["function"]: dict(frame["vars"]) for frame in report.get_traceback_frames()}
    assert frames["check_for_resource_server"]["token"] == "********************"
    everything = report.get_traceback_html() + report.get_traceback_text()
    for secret in (alice_token.plaintext, orders_api.secret, hash_token(alice_token.plaintext)):
        assert secret not in everything


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminates a PostgreSQL server process"
)
def test_a_connection_killed_under_the_portal_is_503(
    client, alice_token, orders_api, transactional_db
):
    import psycopg

    # Warm the portal's connection, then kill its server process, as a failover would (with
    # the token cache's listener: a failover drops every connection, and a worker whose listener
    # is down answers nothing from its cache).
    assert ask(client, orders_api, alice_token.plaintext).status_code == 200
    cache = process_cache()
    connects = cache.connects if cache is not None else 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s"
            " OR (application_name = %s AND datname = current_database())",
            [pid, APPLICATION_NAME],
        )
    if cache is not None:  # the listener notices within moments; until then it may still trust
        deadline = time.monotonic() + 10
        while cache.trusted and cache.connects == connects and time.monotonic() < deadline:
            time.sleep(0.01)

    try:
        response = ask(client, orders_api, alice_token.plaintext)
    finally:
        connection.close()

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable"}


# --- last_used_at, and what a check costs -----------------------------------------------------


def _updates(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_two_checks_within_the_interval_write_last_used_once(client, alice_token, orders_api):
    with CaptureQueriesContext(connection) as queries:
        ask(client, orders_api, alice_token.plaintext)
        ask(client, orders_api, alice_token.plaintext)

    assert len(_updates(queries)) == 1
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.last_used_at is not None


def test_a_check_after_the_interval_writes_again(client, alice_token, orders_api, settings):
    ask(client, orders_api, alice_token.plaintext)
    earlier = timezone.now() - timedelta(seconds=settings.TOKEN_LAST_USED_INTERVAL + 1)
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(last_used_at=earlier)

    with CaptureQueriesContext(connection) as queries:
        ask(client, orders_api, alice_token.plaintext)

    assert len(_updates(queries)) == 1
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_at > earlier


def test_the_reported_client_ip_is_recorded(client, alice_token, orders_api):
    ask(client, orders_api, alice_token.plaintext, body={"client_ip": "2001:db8:0:0::1"})

    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_ip == "2001:db8::1"


@pytest.mark.parametrize("client_ip", ["not-an-ip", "999.1.1.1", "10.0.0.1/8", ""])
def test_a_client_ip_that_is_no_address_is_ignored(client, alice_token, orders_api, client_ip):
    response = ask(client, orders_api, alice_token.plaintext, body={"client_ip": client_ip})

    assert response.json()["active"] is True
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.last_used_at is not None
    assert token.last_used_ip is None


def test_an_inactive_check_writes_nothing(client, alice_token, orders_api):
    lifecycle.revoke_token(alice_token.token, by=None)

    with CaptureQueriesContext(connection) as queries:
        ask(client, orders_api, alice_token.plaintext)

    assert _updates(queries) == []


def test_an_active_check_costs_one_query_once_last_used_is_fresh(
    client, alice_token, orders_api, django_assert_num_queries
):
    # Each count goes with its answer: a 401 or an inactive answer may cost as little.
    with django_assert_num_queries(2):  # the lookup, and the first last_used_at write
        first = ask(client, orders_api, alice_token.plaintext)
    with django_assert_num_queries(1):
        second = ask(client, orders_api, alice_token.plaintext)

    for response in (first, second):
        assert response.status_code == 200
        assert response.json()["active"] is True
        assert response.json()["jti"] == str(alice_token.token.pk)


def test_an_unknown_token_costs_one_query(client, orders_api, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = ask(client, orders_api, make_token())

    assert (response.status_code, response.content) == (200, INACTIVE)


def test_a_revoked_token_costs_one_query(
    client, alice_token, orders_api, django_assert_num_queries
):
    lifecycle.revoke_token(alice_token.token, by=None)

    with django_assert_num_queries(1):
        response = ask(client, orders_api, alice_token.plaintext)

    assert (response.status_code, response.content) == (200, INACTIVE)


def test_a_malformed_token_costs_the_caller_check_and_no_token_lookup(
    client, orders_api, django_assert_num_queries
):
    with django_assert_num_queries(1) as queries:
        response = ask(client, orders_api, "enrt_" + "0" * 64)

    assert response.content == INACTIVE
    assert "tokens_referencetoken" not in queries.captured_queries[0]["sql"]


def test_missing_credentials_cost_no_query(client, alice_token, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.post(URL, f"token={alice_token.plaintext}", content_type=FORM)

    assert response.status_code == 401


def test_a_wrong_secret_costs_one_query(client, alice_token, orders_api, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.post(
            URL,
            f"token={alice_token.plaintext}",
            content_type=FORM,
            HTTP_AUTHORIZATION=basic("orders-api", "wrong"),
        )

    assert response.status_code == 401


def test_the_answer_never_holds_the_token(client, alice_token, orders_api):
    response = ask(client, orders_api, alice_token.plaintext)

    assert alice_token.plaintext not in response.content.decode()
    assert alice_token.plaintext not in json.dumps(dict(response.items()))


def test_it_answers_the_same_without_the_prepared_statement(
    client, alice_token, orders_api, settings
):
    settings.TOKEN_PREPARED_LOOKUP = False

    assert ask(client, orders_api, alice_token.plaintext).json()["scope"] == "read update"
    assert ask(client, orders_api, make_token()).content == INACTIVE

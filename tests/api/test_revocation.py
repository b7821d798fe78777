"""POST /connect/revocation (RFC 7009): whoever holds a token may revoke it."""

import io

import pytest
from django.core import mail

from tests.helpers import FORM, basic
from tokens.format import make_token
from tokens.models import ReferenceToken, TokenEvent

URL = "/connect/revocation"


def revoke(client, token: str, **extra):
    return client.post(URL, f"token={token}", content_type=FORM, **extra)


def test_the_holder_revokes_and_the_token_is_inactive_at_once(client, alice_token, orders_api):
    response = revoke(client, alice_token.plaintext, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert response.json() == {}
    assert response["Cache-Control"] == "no-store"
    check = client.post(
        "/connect/introspect",
        f"token={alice_token.plaintext}",
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(orders_api.client_id, orders_api.secret),
    )
    assert check.content == b'{"active": false}'


def test_it_records_who_and_why_without_the_token(client, alice_token):
    revoke(client, alice_token.plaintext, REMOTE_ADDR="203.0.113.9")

    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revoked_at is not None
    assert token.revoked_by is None
    assert token.revocation_reason == "revoked by holder"
    event = token.events.get(action=TokenEvent.Action.REVOKED)
    assert (event.actor, event.detail, event.ip) == (None, "revoked by holder", "203.0.113.9")
    assert alice_token.plaintext not in repr(list(TokenEvent.objects.values()))


def test_a_json_body_works_too(client, alice_token):
    response = client.post(URL, {"token": alice_token.plaintext}, content_type="application/json")

    assert response.status_code == 200
    assert ReferenceToken.objects.revoked().filter(pk=alice_token.token.pk).exists()


def test_revoking_twice_is_200_and_records_one_event(client, alice_token):
    revoke(client, alice_token.plaintext)
    response = revoke(client, alice_token.plaintext)

    assert response.status_code == 200
    assert TokenEvent.objects.filter(action=TokenEvent.Action.REVOKED).count() == 1


def test_only_the_presented_token_is_revoked(client, alice_token, sync_service_token):
    revoke(client, alice_token.plaintext)

    assert ReferenceToken.objects.get(pk=sync_service_token.token.pk).revoked_at is None


@pytest.mark.parametrize(
    "token", [make_token(), "enrt_" + "0" * 64, "garbage"], ids=["unknown", "checksum", "words"]
)
def test_unknown_and_malformed_tokens_are_200_too(client, alice_token, token):
    # RFC 7009 2.2: the answer must not tell whether the token existed.
    response = revoke(client, token)

    assert response.status_code == 200
    assert response.json() == {}
    assert not ReferenceToken.objects.revoked().exists()


def test_a_malformed_token_costs_no_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert revoke(client, "garbage").status_code == 200


def test_caller_credentials_are_neither_needed_nor_harmful(client, alice_token, orders_api):
    response = revoke(
        client,
        alice_token.plaintext,
        HTTP_AUTHORIZATION=basic(orders_api.client_id, "not the secret"),
    )

    assert response.status_code == 200
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).revoked_at is not None


@pytest.mark.parametrize("body", [b"", b"token=", b"token_type_hint=access_token"])
def test_a_missing_token_is_400(client, body):
    response = client.generic("POST", URL, body, content_type=FORM)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"token=%FF", FORM, 400),
        (b"token=%zz", FORM, 400),
        (b"[1]", "application/json", 400),
        (b'{"token": 1}', "application/json", 400),
        (b"token=x", "text/plain", 415),
        (b"token=" + b"A" * 5000, FORM, 413),
    ],
)
def test_malformed_requests_get_a_fitting_status(client, body, content_type, status):
    response = client.generic("POST", URL, body, content_type=content_type)

    assert response.status_code == status
    assert response["Cache-Control"] == "no-store"


def test_json_nested_4000_deep_is_400_not_500(client, alice_token):
    # Regression: a RecursionError (no ValueError) escaped the JSON parser as a 500.
    response = client.generic("POST", URL, b"[" * 4000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error_description"] == "The JSON body nests too deeply."


def test_a_nul_in_the_token_is_400(client, alice_token):
    response = client.post(URL, {"token": "enrt_\u0000"}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error_description"] == "The token parameter holds a NUL character."


def test_a_chunked_body_is_read_when_the_server_ends_the_stream(client, alice_token):
    body = f"token={alice_token.plaintext}".encode()
    response = client.generic(
        "POST",
        URL,
        CONTENT_TYPE=FORM,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )

    assert response.status_code == 200
    assert ReferenceToken.objects.revoked().filter(pk=alice_token.token.pk).exists()


def test_a_chunked_body_the_server_cannot_end_is_411(client, alice_token):
    response = client.generic(
        "POST", URL, CONTENT_TYPE=FORM, HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )

    assert response.status_code == 411
    assert not ReferenceToken.objects.revoked().exists()


def test_get_is_405(client):
    response = client.get(URL)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Cache-Control"] == "no-store"


def test_an_unreachable_database_is_503(client, alice_token, unreachable_database):
    with unreachable_database():
        response = revoke(client, alice_token.plaintext)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).revoked_at is None


def test_behind_a_trusted_proxy_the_audit_row_has_the_caller_s_address(
    client, alice_token, behind_nginx
):
    revoke(
        client, alice_token.plaintext, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )

    event = TokenEvent.objects.get(action=TokenEvent.Action.REVOKED)
    assert event.ip == "203.0.113.9"


# --- reason=leaked: whoever finds a token reports where (issue 24) ------------------------------

PASTE = "https://paste.example/raw/abc123"


def test_a_finder_reports_a_token_as_leaked_with_the_url(
    client, alice_token, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL,
            {"token": alice_token.plaintext, "reason": "leaked", "url": PASTE},
            content_type="application/json",
        )

    assert response.status_code == 200
    assert response.json() == {}
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revocation_reason == "leaked"
    event = token.events.get(action=TokenEvent.Action.REVOKED)
    assert (event.leak_source, event.leak_url) == ("holder", PASTE)
    [message] = mail.outbox
    assert PASTE in message.body


def test_a_leak_report_without_a_url_is_fine(client, alice_token):
    response = revoke(client, f"{alice_token.plaintext}&reason=leaked")

    assert response.status_code == 200
    event = TokenEvent.objects.get(action=TokenEvent.Action.REVOKED)
    assert (event.leak_source, event.leak_url) == ("holder", "")


def test_a_leak_report_of_an_unknown_token_is_200_too(client, db):
    response = client.post(
        URL,
        {"token": make_token(), "reason": "leaked", "url": PASTE},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert not TokenEvent.objects.exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"reason": "compromised"}, "The reason parameter may only be 'leaked' (or absent)."),
        ({"url": PASTE}, "The url parameter goes with reason=leaked only."),
        ({"reason": "leaked", "url": "ftp://x.example/"}, "absolute http:// or https:// URL"),
        ({"reason": "leaked", "url": "/p"}, "absolute http:// or https:// URL"),
        ({"reason": "leaked", "url": "https://x.example/" + "a" * 2000}, "more than 2000"),
        ({"reason": "leaked", "url": 7}, "The url parameter must be a string."),
        ({"reason": ["leaked"]}, "The reason parameter must be a string."),
    ],
)
def test_a_bad_reason_or_url_is_400_with_a_clear_message_and_revokes_nothing(
    client, alice_token, params, message
):
    response = client.post(
        URL, {"token": alice_token.plaintext, **params}, content_type="application/json"
    )

    assert response.status_code == 400
    assert message in response.json()["error_description"]
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).revoked_at is None

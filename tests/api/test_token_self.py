"""GET /api/tokens/self: a script checks its own token and its expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tokens.domain import lifecycle
from tokens.format import make_token
from tokens.models import ReferenceToken

URL = "/api/tokens/self"


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_API_KEY"])
def test_a_token_describes_itself_from_any_of_its_headers(client, alice, alice_token, header):
    value = alice_token.plaintext
    if header == "HTTP_AUTHORIZATION":
        value = f"Bearer {value}"

    response = client.get(URL, **{header: value})

    token = alice_token.token
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "active": True,
        "token_kind": "personal",
        "application": "com.example/sync",
        "scopes": ["read", "update"],
        "user": {"id": str(alice.pk), "username": "alice"},
        "created_at": _iso(token.created_at),
        "expires_at": _iso(token.expires_at),
        "last_used_at": None,
        "jti": str(token.pk),
    }


def test_it_reports_the_previous_use(client, alice_token):
    used = timezone.now() - timedelta(hours=2)
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(last_used_at=used)

    answer = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext).json()

    assert answer["last_used_at"] == _iso(used)


def test_the_holder_s_address_is_recorded_as_the_last_use(client, alice_token, behind_nginx):
    # The holder calls the portal itself here, through one proxy.
    client.get(
        URL, HTTP_X_API_KEY=alice_token.plaintext, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )

    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_ip == "203.0.113.7"


def test_a_service_token_names_its_system_user(client, sync_service_token):
    answer = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {sync_service_token.plaintext}").json()

    assert answer["token_kind"] == "service"
    assert answer["user"]["username"] == sync_service_token.token.user.username


def _assert_invalid_token(response):
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert response["WWW-Authenticate"] == 'Bearer realm="token-portal", error="invalid_token"'
    assert response["Cache-Control"] == "no-store"


def test_a_revoked_token_is_401(client, alice_token):
    lifecycle.revoke_token(alice_token.token, by=None)

    _assert_invalid_token(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}"))


def test_an_expired_token_is_401(client, alice_token):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(expires_at=timezone.now())

    _assert_invalid_token(client.get(URL, HTTP_X_API_KEY=alice_token.plaintext))


@pytest.mark.parametrize("token", [make_token(), "enrt_" + "0" * 64, "nonsense"])
def test_unknown_and_malformed_tokens_are_401(client, db, token):
    _assert_invalid_token(client.get(URL, HTTP_API_KEY=token))


def test_no_token_is_401_without_an_error_code(client, db):
    response = client.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="token-portal"'


def test_basic_credentials_are_no_token(client, orders_api):
    response = client.get(URL, HTTP_AUTHORIZATION="Basic b3JkZXJzLWFwaTp4")

    assert response.status_code == 401


@pytest.mark.parametrize("parameter", ["access_token", "token"])
def test_a_token_in_the_query_string_is_refused(client, alice_token, parameter):
    response = client.get(f"{URL}?{parameter}={alice_token.plaintext}")

    assert response.status_code == 400
    assert "query string" in response.json()["error_description"]


def test_two_token_headers_are_refused(client, alice_token, sync_service_token):
    response = client.get(
        URL,
        HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}",
        HTTP_X_API_KEY=sync_service_token.plaintext,
    )

    assert response.status_code == 400


def test_a_malformed_token_costs_no_query(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(URL, HTTP_X_API_KEY="nonsense")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}


def test_an_active_token_costs_one_query_once_last_used_is_fresh(
    client, alice_token, django_assert_num_queries
):
    client.get(URL, HTTP_X_API_KEY=alice_token.plaintext)

    with django_assert_num_queries(1):
        response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext)

    # The description itself, not a refusal that may cost as little.
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert response.json()["jti"] == str(alice_token.token.pk)


def test_post_is_405(client, alice_token):
    response = client.post(URL, HTTP_X_API_KEY=alice_token.plaintext)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_an_unreachable_database_is_503(client, alice_token, unreachable_database):
    with unreachable_database():
        response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_head_answers_like_get_without_the_body(client, alice_token):
    response = client.head(URL, HTTP_X_API_KEY=alice_token.plaintext)

    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 0
    assert response["Cache-Control"] == "no-store"


def test_head_with_a_bad_token_is_401_like_get(client, db):
    response = client.head(URL, HTTP_X_API_KEY=make_token())

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="token-portal", error="invalid_token"'

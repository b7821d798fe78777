"""/connect/forward-auth: a gateway asks whether to pass a request on, and with which identity.

orders-api (both scopes) and search-api (read only) play the gateways' resource servers; alice's
token carries both scopes.
"""

import pytest
from prometheus_client import REGISTRY

from tests.helpers import basic, register_server
from tokens.domain import lifecycle
from tokens.format import make_token
from tokens.models import ReferenceToken
from tokens.validation.forward_auth import IDENTITY_HEADERS
from trustedapps.models import Scope

URL = "/connect/forward-auth"


def _gateway(server) -> dict:
    return {"HTTP_X_GATEWAY_AUTHORIZATION": basic(server.client_id, server.secret)}


def test_an_active_token_is_allowed_with_every_identity_header(
    client, alice, alice_token, orders_api
):
    response = client.get(
        URL, HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}", **_gateway(orders_api)
    )

    assert response.status_code == 200
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert response["X-Auth-Subject"] == str(alice.pk)
    assert response["X-Auth-Username"] == "alice"
    assert response["X-Auth-Token-Kind"] == "personal"
    assert response["X-Auth-Token-Id"] == str(alice_token.token.pk)
    assert response["X-Auth-Scopes"] == "read update"
    assert response["X-Auth-Client-Id"] == "com.example/sync"
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_API_KEY"])
def test_the_token_may_come_as_an_api_key(client, alice_token, orders_api, header):
    response = client.get(URL, **{header: alice_token.plaintext}, **_gateway(orders_api))

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_any_method_is_answered_and_the_body_is_never_read(client, alice_token, orders_api, method):
    # A body far over the validation URL's limit, announced too: forward auth ignores it.
    response = client.generic(
        method.upper(),
        URL,
        b"x" * 10000,
        content_type="text/plain",
        HTTP_X_API_KEY=alice_token.plaintext,
        **_gateway(orders_api),
    )

    assert response.status_code == 200


def test_head_has_the_headers_and_no_body(client, alice_token, orders_api):
    response = client.head(URL, HTTP_X_API_KEY=make_token(), **_gateway(orders_api))

    assert response.status_code == 401
    assert response.content == b""
    assert "invalid_token" in response["WWW-Authenticate"]


def test_scopes_are_those_the_gateway_s_resource_server_owns(client, alice_token, search_api):
    response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(search_api))

    assert response["X-Auth-Scopes"] == "read"


def test_a_service_token_names_its_kind_and_system_user(client, sync_service_token, orders_api):
    response = client.get(URL, HTTP_X_API_KEY=sync_service_token.plaintext, **_gateway(orders_api))

    assert response["X-Auth-Token-Kind"] == "service"
    assert response["X-Auth-Username"] == sync_service_token.token.user.username


def _assert_challenge(response, challenge: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == challenge
    assert response["Cache-Control"] == "no-store"
    assert not any(header in response for header in IDENTITY_HEADERS)


def test_a_missing_token_is_401_without_an_error_code(client, orders_api):
    _assert_challenge(client.get(URL, **_gateway(orders_api)), 'Bearer realm="token-portal"')


@pytest.mark.parametrize("value", ["enrt_nonsense", "Bearer", "", " "])
def test_an_unknown_or_malformed_token_is_401_invalid_token(client, orders_api, value):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {make_token()}", **_gateway(orders_api))
    _assert_challenge(response, 'Bearer realm="token-portal", error="invalid_token"')

    response = client.get(URL, HTTP_X_API_KEY=value, **_gateway(orders_api))
    assert response.status_code == 401


def test_a_revoked_token_is_401(client, alice_token, orders_api):
    lifecycle.revoke_token(alice_token.token, by=None)

    response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api))

    _assert_challenge(response, 'Bearer realm="token-portal", error="invalid_token"')


def test_a_token_in_two_headers_is_401_invalid_request(client, alice_token, orders_api):
    response = client.get(
        URL,
        HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}",
        HTTP_X_API_KEY=alice_token.plaintext,
        **_gateway(orders_api),
    )

    _assert_challenge(response, 'Bearer realm="token-portal", error="invalid_request"')


def test_a_token_without_any_of_the_gateway_s_scopes_is_401(client, alice_token):
    # billing-api owns no scope of Sync's: alice's token means nothing to it.
    billing = register_server("billing-api", [Scope.objects.create(name="billing")])

    response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(billing))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "where", [{"path": URL + "?scope=update"}, {"HTTP_X_REQUIRED_SCOPE": "update"}]
)
def test_a_route_s_required_scope_the_token_lacks_is_403(client, alice_token, search_api, where):
    path = where.pop("path", URL)

    response = client.get(
        path, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(search_api), **where
    )

    assert response.status_code == 403
    assert response.json() == {"error": "insufficient_scope", "scope": "update"}
    assert response["WWW-Authenticate"] == (
        'Bearer realm="token-portal", error="insufficient_scope", scope="update"'
    )
    assert not any(header in response for header in IDENTITY_HEADERS)


def test_every_required_scope_must_be_held(client, alice_token, orders_api, search_api):
    held = client.get(
        URL + "?scope=read+update", HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api)
    )
    partly = client.get(
        URL + "?scope=read",
        HTTP_X_REQUIRED_SCOPE="update",
        HTTP_X_API_KEY=alice_token.plaintext,
        **_gateway(search_api),
    )

    assert held.status_code == 200
    assert partly.status_code == 403


def test_a_scope_name_that_would_break_the_challenge_is_not_repeated_in_it(
    client, alice_token, orders_api
):
    response = client.get(
        URL + '?scope=a"b%0d', HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api)
    )

    assert response.status_code == 403
    assert response["WWW-Authenticate"] == 'Bearer realm="token-portal", error="insufficient_scope"'


@pytest.mark.parametrize(
    "credential",
    [
        None,
        "Basic !!!",
        "Bearer abc",
        basic("orders-api", "wrong-secret"),
        basic("no-such-api", "whatever"),
    ],
)
def test_a_bad_gateway_credential_is_403_without_asking_the_client_for_a_token(
    client, alice_token, orders_api, credential
):
    headers = {"HTTP_X_API_KEY": alice_token.plaintext}
    if credential is not None:
        headers["HTTP_X_GATEWAY_AUTHORIZATION"] = credential

    response = client.get(URL, **headers)

    assert response.status_code == 403
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response
    assert not any(header in response for header in IDENTITY_HEADERS)


def test_the_gateway_is_checked_even_when_the_client_sent_no_token(client, orders_api):
    response = client.get(URL, HTTP_X_GATEWAY_AUTHORIZATION=basic("orders-api", "wrong"))

    assert response.status_code == 403


def test_the_client_s_address_from_the_gateway_is_the_last_use(
    client, alice_token, orders_api, behind_nginx
):
    client.get(
        URL,
        HTTP_X_API_KEY=alice_token.plaintext,
        HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        **_gateway(orders_api),
    )

    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.last_used_at is not None
    assert token.last_used_ip == "203.0.113.7"


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(client, alice_token, orders_api):
    client.get(
        URL,
        HTTP_X_API_KEY=alice_token.plaintext,
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        **_gateway(orders_api),
    )

    assert ReferenceToken.objects.get(pk=alice_token.token.pk).last_used_ip == "127.0.0.1"


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value("portal_forward_auth_requests_total", {"outcome": outcome})
    return value or 0.0


def test_answers_are_counted_by_outcome(client, alice_token, orders_api):
    before = _count("allowed"), _count("invalid_token")

    client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api))
    client.get(URL, HTTP_X_API_KEY=make_token(), **_gateway(orders_api))

    assert (_count("allowed"), _count("invalid_token")) == (before[0] + 1, before[1] + 1)


def test_an_outage_is_503_never_200(client, alice_token, orders_api, unreachable_database):
    with unreachable_database():
        response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api))

    assert response.status_code == 503
    assert response["Retry-After"]
    assert response["Cache-Control"] == "no-store"
    assert not any(header in response for header in IDENTITY_HEADERS)


def test_the_path_envoy_appends_is_ignored(client, alice_token, search_api):
    # ext_authz asks /connect/forward-auth/<the original path and query>.
    allowed = client.get(
        URL + "/api/orders/7?page=2", HTTP_X_API_KEY=alice_token.plaintext, **_gateway(search_api)
    )
    required = client.get(
        URL + "/api/admin/users",
        HTTP_X_REQUIRED_SCOPE="update",
        HTTP_X_API_KEY=alice_token.plaintext,
        **_gateway(search_api),
    )

    assert allowed.status_code == 200
    assert allowed["X-Auth-Scopes"] == "read"
    assert required.status_code == 403


def test_a_name_outside_latin_1_is_sent_as_django_encodes_any_header(
    client, alice, alice_token, orders_api
):
    # The identity headers are kept ready-made per cached facts: still checked and encoded by
    # Django, as a header set one by one would be.
    alice.username = "Ωmega"
    alice.save()

    response = client.get(URL, HTTP_X_API_KEY=alice_token.plaintext, **_gateway(orders_api))

    assert response.status_code == 200
    assert response["X-Auth-Username"] == "=?utf-8?b?zqltZWdh?="

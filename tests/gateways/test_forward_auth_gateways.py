"""nginx and Caddy, configured as docs/gateways/ says, guard an API with the portal's tokens.

The gateway checks tokens as orders-api (both scopes); /api/admin/ requires `update`. Alice's
token carries both scopes; her `read_only` token only `read`. Each test states what reached the
upstream (the API): a refused request never does.
"""

import pytest
import requests

from tokens.domain import lifecycle
from tokens.format import make_token

IDENTITY = {
    "x-auth-subject",
    "x-auth-username",
    "x-auth-token-kind",
    "x-auth-token-id",
    "x-auth-scopes",
    "x-auth-client-id",
}


@pytest.fixture
def read_only(alice, sync_app, read_scope, in_30_days):
    return lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=in_30_days, scopes=[read_scope]
    )


def _get(gateway, path: str, **headers: str) -> requests.Response:
    return requests.get(gateway.url + path, headers=headers, timeout=10)


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_a_valid_token_reaches_the_upstream_with_its_identity(
    gateway, upstream, alice, alice_token, header
):
    value = alice_token.plaintext
    if header == "Authorization":
        value = f"Bearer {value}"

    response = _get(gateway, "/api/orders?page=2", **{header: value})

    assert response.status_code == 200, response.text
    assert response.json()["path"] == "/api/orders?page=2"
    [received] = upstream.received
    assert {name: received[name] for name in IDENTITY} == {
        "x-auth-subject": [str(alice.pk)],
        "x-auth-username": ["alice"],
        "x-auth-token-kind": ["personal"],
        "x-auth-token-id": [str(alice_token.token.pk)],
        "x-auth-scopes": ["read update"],
        "x-auth-client-id": ["com.example/sync"],
    }


def _assert_refused(response, upstream, challenge: str) -> None:
    assert response.status_code == 401
    assert challenge in response.headers.get("WWW-Authenticate", "")
    assert upstream.received == []


def test_an_unknown_token_is_401_and_never_reaches_the_upstream(gateway, upstream):
    response = _get(gateway, "/api/orders", Authorization=f"Bearer {make_token()}")

    _assert_refused(response, upstream, 'error="invalid_token"')


def test_a_missing_token_is_401_and_never_reaches_the_upstream(gateway, upstream):
    _assert_refused(_get(gateway, "/api/orders"), upstream, "Bearer")


def test_a_token_revoked_during_the_test_is_refused_from_then_on(gateway, upstream, alice_token):
    before = _get(gateway, "/api/orders", **{"X-Api-Key": alice_token.plaintext})
    lifecycle.revoke_token(alice_token.token, by=None)
    after = _get(gateway, "/api/orders", **{"X-Api-Key": alice_token.plaintext})

    assert before.status_code == 200
    assert after.status_code == 401
    assert len(upstream.received) == 1


def test_identity_headers_sent_by_the_client_never_reach_the_upstream(
    gateway, upstream, alice, alice_token
):
    forged = {name: "forged-by-mallory" for name in IDENTITY}

    allowed = _get(
        gateway, "/api/orders", **forged, Authorization=f"Bearer {alice_token.plaintext}"
    )
    refused = _get(gateway, "/api/orders", **forged)

    assert allowed.status_code == 200
    assert refused.status_code == 401
    [received] = upstream.received
    assert received["x-auth-subject"] == [str(alice.pk)]
    assert not any("forged-by-mallory" in value for values in received.values() for value in values)


def test_the_gateway_s_credential_never_reaches_the_upstream(gateway, upstream, alice_token):
    response = _get(
        gateway,
        "/api/orders",
        Authorization=f"Bearer {alice_token.plaintext}",
        **{"X-Gateway-Authorization": "Basic sent-by-the-client"},
    )

    assert response.status_code == 200
    [received] = upstream.received
    assert "x-gateway-authorization" not in received


def test_a_route_requiring_a_scope_the_token_lacks_is_403(
    gateway, upstream, alice_token, read_only
):
    lacking = _get(gateway, "/api/admin/users", **{"X-Api-Key": read_only.plaintext})
    elsewhere = _get(gateway, "/api/orders", **{"X-Api-Key": read_only.plaintext})
    holding = _get(gateway, "/api/admin/users", **{"X-Api-Key": alice_token.plaintext})

    assert lacking.status_code == 403
    assert 'error="insufficient_scope"' in lacking.headers.get("WWW-Authenticate", "")
    assert elsewhere.status_code == 200
    assert holding.status_code == 200
    assert [r["x-auth-scopes"] for r in upstream.received] == [["read"], ["read update"]]

"""Authlib against the live portal: OAuth2Session's introspect_token / revoke_token helpers, and a
ResourceProtector with the small IntrospectTokenValidator subclass that Authlib asks for."""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.django_oauth2 import ResourceProtector
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError
from authlib.oauth2.rfc7662 import IntrospectTokenValidator
from django.test import RequestFactory

from tests.helpers import register_server
from tokens.domain import lifecycle

pytestmark = pytest.mark.django_db(transaction=True)

# A URN with `:` and `/`: Authlib sends the client id raw in HTTP Basic.
CLIENT_ID = "urn:example:search/api"


@pytest.fixture
def search_api_urn(read_scope):
    """A resource server that owns only `read`."""
    return register_server(CLIENT_ID, [read_scope])


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_introspect_token_gets_the_answer_for_the_caller(
    live_server, search_api_urn, alice_token, auth_method
):
    session = OAuth2Session(
        CLIENT_ID, search_api_urn.secret, token_endpoint_auth_method=auth_method
    )

    response = session.introspect_token(
        f"{live_server.url}/connect/introspect", token=alice_token.plaintext
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["active"], answer["username"], answer["scope"]) == (True, "alice", "read")
    assert answer["aud"] == CLIENT_ID


def test_introspect_token_with_a_wrong_secret_is_refused(live_server, search_api_urn, alice_token):
    session = OAuth2Session(CLIENT_ID, "not-the-secret")

    response = session.introspect_token(
        f"{live_server.url}/connect/introspect", token=alice_token.plaintext
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_revoke_token_revokes_and_introspection_then_says_inactive(
    live_server, search_api_urn, alice_token
):
    session = OAuth2Session(CLIENT_ID, search_api_urn.secret)

    revoked = session.revoke_token(
        f"{live_server.url}/connect/revocation", token=alice_token.plaintext
    )
    answer = session.introspect_token(
        f"{live_server.url}/connect/introspect", token=alice_token.plaintext
    )

    assert revoked.status_code == 200
    assert answer.json() == {"active": False}


class PortalTokenValidator(IntrospectTokenValidator):
    """The subclass Authlib asks for: where and as whom to introspect."""

    def __init__(self, url: str, client_id: str, secret: str) -> None:
        super().__init__()
        self.url, self.auth = url, (client_id, secret)

    def introspect_token(self, token_string: str) -> dict:
        response = requests.post(self.url, data={"token": token_string}, auth=self.auth, timeout=5)
        response.raise_for_status()  # 401 and 503 are no answer: never let the request through
        return response.json()


@pytest.fixture
def protector(live_server, search_api_urn) -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(
        PortalTokenValidator(
            f"{live_server.url}/connect/introspect", CLIENT_ID, search_api_urn.secret
        )
    )
    return protector


def _request(token: str):
    return RequestFactory().get("/api/search", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_resource_protector_lets_an_active_token_through(protector, alice_token):
    token = protector.acquire_token(_request(alice_token.plaintext), ["read"])

    assert token["username"] == "alice"


def test_the_resource_protector_refuses_a_scope_the_server_does_not_see(protector, alice_token):
    # The token carries `update` too, but this server owns only `read`: it never sees `update`.
    with pytest.raises(InsufficientScopeError):
        protector.acquire_token(_request(alice_token.plaintext), ["update"])


def test_the_resource_protector_refuses_a_revoked_token(protector, alice_token):
    lifecycle.revoke_token(alice_token.token, by=None)

    with pytest.raises(InvalidTokenError):
        protector.acquire_token(_request(alice_token.plaintext), ["read"])

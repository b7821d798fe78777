"""django-oauth-toolkit 3.4+ as a resource server, with only its documented settings
(RESOURCE_SERVER_INTROSPECTION_URL, _CREDENTIALS, _TOKEN_CACHING_SECONDS = 1), in its own process,
validates the portal's tokens through the live validation URL."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests

from tests.helpers import DOT_SECRET
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days

pytestmark = pytest.mark.django_db(transaction=True)


def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def call(dot_server, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{dot_server.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_an_active_personal_token_reaches_the_view_as_its_user(
    dot_server, dot_registered, alice_token
):
    response = call(dot_server, "/api/orders", alice_token.plaintext)

    assert response.status_code == 200
    assert response.json() == {"user": "alice"}


def test_a_service_token_reaches_the_view_as_the_system_user(
    dot_server, dot_registered, sync_service_token
):
    response = call(dot_server, "/api/orders", sync_service_token.plaintext)

    assert response.status_code == 200
    assert response.json() == {"user": sync_service_token.token.user.username}


def test_a_token_without_the_views_scope_is_refused(
    dot_server, dot_registered, alice, sync_app, read_scope
):
    read_only = lifecycle.issue_personal(
        user=alice,
        application=sync_app,
        scopes=[read_scope],
        expires_at=expiry_in_days(1),
    )

    assert call(dot_server, "/api/orders", read_only.plaintext).status_code == 200
    assert call(dot_server, "/api/orders/updates", read_only.plaintext).status_code == 403


def test_a_revoked_token_is_refused_at_once(dot_server, dot_registered, alice_token, live_server):
    assert call(dot_server, "/api/orders", alice_token.plaintext).status_code == 200

    revoked = requests.post(
        f"{live_server.url}/connect/revocation", data={"token": alice_token.plaintext}, timeout=30
    )

    assert revoked.status_code == 200
    # The toolkit keeps an answer for RESOURCE_SERVER_TOKEN_CACHING_SECONDS (1 here), then asks.
    assert eventually(
        lambda: call(dot_server, "/api/orders", alice_token.plaintext).status_code == 403
    )


def test_a_wrong_secret_is_refused(dot_server, dot_registered, alice_token):
    dot_registered.rotate_secret(
        seen_rotated_at=dot_registered.secret_rotated_at
    )  # the resource server still sends the old one

    assert call(dot_server, "/api/orders", alice_token.plaintext).status_code == 403


def test_without_its_resource_uri_the_toolkit_refuses_every_token(
    dot_server, dot_registered, alice_token
):
    # django-oauth-toolkit 3.4 reads `aud` as RFC 8707 resource indicators and requires the
    # request URL to start with one of them: a bare client id never matches. Hence resource URIs.
    dot_registered.resource_uris = []
    dot_registered.save()

    assert call(dot_server, "/api/orders", alice_token.plaintext).status_code == 403


def test_the_secret_never_reaches_the_portals_database(dot_registered):
    assert DOT_SECRET not in repr(list(type(dot_registered).objects.values()))

"""Resource servers: a generated secret, kept only as its SHA-256."""

import hashlib

from tests.conftest import register_server
from trustedapps.models import ResourceServer


def test_the_secret_is_stored_only_as_its_sha256(orders_api):
    server = ResourceServer.objects.get(client_id="orders-api")
    assert server.secret_hash == hashlib.sha256(orders_api.secret.encode()).hexdigest()
    assert orders_api.secret not in repr(ResourceServer.objects.values().get(pk=server.pk))
    assert len(orders_api.secret) >= 43  # 256 random bits


def test_a_server_authenticates_with_its_secret_only(orders_api, search_api):
    assert ResourceServer.objects.authenticate("orders-api", orders_api.secret) == orders_api.server
    assert ResourceServer.objects.authenticate("orders-api", search_api.secret) is None
    assert ResourceServer.objects.authenticate("orders-api", "") is None
    assert ResourceServer.objects.authenticate("nobody", orders_api.secret) is None


def test_a_disabled_server_does_not_authenticate(orders_api):
    orders_api.server.is_enabled = False
    orders_api.server.save()
    assert ResourceServer.objects.authenticate("orders-api", orders_api.secret) is None


def test_a_new_secret_replaces_the_old(orders_api):
    server = orders_api.server
    new_secret = server.set_secret()
    server.save()
    assert new_secret != orders_api.secret
    assert ResourceServer.objects.authenticate("orders-api", new_secret) == server
    assert ResourceServer.objects.authenticate("orders-api", orders_api.secret) is None


def test_two_servers_get_different_secrets(read_scope):
    first = register_server("one-api", [read_scope])
    second = register_server("two-api", [read_scope])
    assert first.secret != second.secret

"""Resource servers: a generated secret, kept only as its SHA-256."""

import hashlib

import pytest
from django.core.exceptions import ValidationError

from tests.helpers import authenticates, register_server
from trustedapps.models import ResourceServer, validate_resource_uris


def test_the_secret_is_stored_only_as_its_sha256(orders_api):
    server = ResourceServer.objects.get(client_id="orders-api")
    assert server.secret_hash == hashlib.sha256(orders_api.secret.encode()).hexdigest()
    assert orders_api.secret not in repr(ResourceServer.objects.values().get(pk=server.pk))
    assert len(orders_api.secret) >= 43  # 256 random bits


def test_a_new_secret_replaces_the_old(orders_api):
    server = orders_api.server
    new_secret = server.set_secret()
    server.save()
    assert new_secret != orders_api.secret
    assert authenticates("orders-api", new_secret)
    assert not authenticates("orders-api", orders_api.secret)


def test_two_servers_get_different_secrets(read_scope):
    first = register_server("one-api", [read_scope])
    second = register_server("two-api", [read_scope])
    assert first.secret != second.secret


@pytest.mark.parametrize(
    "uri",
    [
        "https://orders.example.com",
        "https://orders.example.com:8443/api/v1/",
        "http://localhost:8000/api",
        "http://127.0.0.2/",
        "http://[::1]:8000/",
    ],
)
def test_a_resource_uri_is_an_absolute_https_url_or_http_on_loopback(uri):
    validate_resource_uris([uri])


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost.example.com/",  # not loopback, whatever its name says
        "http://10.0.0.1/",
        "https://",
        "urn:example:orders",
        "https://orders.example.com/ api",
        "https://orders.example.com/\x00",
        "https://@orders.example.com/",
        "https://orders.example.com/#",
        7,
    ],
)
def test_anything_else_is_no_resource_uri(uri):
    with pytest.raises(ValidationError):
        validate_resource_uris([uri])


def test_resource_uris_are_a_list():
    with pytest.raises(ValidationError):
        validate_resource_uris("https://orders.example.com")

"""SCIM personas: the provisioning connectors of two identity providers, and their callers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from scim.models import ScimClient

SCIM = "application/scim+json"


class Provider:
    """An identity provider's provisioning connector, calling with its bearer secret."""

    def __init__(self, client: ScimClient, secret: str) -> None:
        self.client, self.secret = client, secret
        self.http = Client()

    def call(
        self, method: str, path: str, body: Any = None, *, content_type: str = SCIM, **params: str
    ) -> Any:
        """`body`: an object sent as JSON, or the raw text or bytes; `params`: the query."""
        auth = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"}
        if method == "GET":
            return self.http.get(path, params, **auth)
        data = b"" if body is None else body
        if not isinstance(data, (str, bytes)):
            data = json.dumps(data)
        return self.http.generic(method, path, data, content_type=content_type, **auth)


def _provider(name: str) -> Provider:
    client = ScimClient(name=name)
    secret = client.set_secret()
    client.save()
    return Provider(client, secret)


@pytest.fixture
def entra(db) -> Provider:
    """Microsoft Entra ID's provisioning service."""
    return _provider("Entra ID")


@pytest.fixture
def okta(db) -> Provider:
    """Okta's SCIM provisioning."""
    return _provider("Okta")

"""Signed-in browsers (test clients) for the profile pages."""

import pytest
from django.test import Client


@pytest.fixture
def alice_client(alice) -> Client:
    # force_login: django-axes needs the request that Client.login() does not pass to authenticate.
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob) -> Client:
    client = Client()
    client.force_login(bob)
    return client

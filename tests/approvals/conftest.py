"""An application whose tokens are given on request, and signed-in browsers (issue 23)."""

import pytest
from django.test import Client

from trustedapps.models import TokenPolicy, TrustedApplication


@pytest.fixture
def vault_app(read_scope, update_scope) -> TrustedApplication:
    app = TrustedApplication.objects.create(
        application_uri="com.example/vault", name="Vault", token_policy=TokenPolicy.APPROVAL
    )
    app.allowed_scopes.set([read_scope, update_scope])
    return app


def _signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return _signed_in(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return _signed_in(bob)


@pytest.fixture
def admin_client(admin_user) -> Client:
    return _signed_in(admin_user)

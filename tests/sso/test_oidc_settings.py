"""OIDC_PROVIDERS (issue 22): read once at start, checked, and what follows from it (allauth's
providers with PKCE, the CSP's form-action); a mistake stops the portal with a clear message."""

import json
import os
import subprocess
import sys

import pytest

from config import oidc
from tests.helpers import PROJECT

ENTRA = {
    "id": "entra",
    "name": "Contoso",
    "issuer": "https://login.microsoftonline.com/tenant-id/v2.0",
    "client_id": "11111111-2222",
    "secret": "s3cret",
}


def start_with(value: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        "OIDC_PROVIDERS": value,
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_no_value_is_no_provider():
    assert oidc.parse("") == []
    assert oidc.socialaccount_providers([]) == {
        "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": []}
    }
    assert oidc.form_action_origins([]) == []


def test_a_provider_becomes_an_allauth_app_with_pkce():
    providers = oidc.parse(json.dumps([{**ENTRA, "scopes": "openid email"}]))
    config = oidc.socialaccount_providers(providers)["openid_connect"]
    assert config["OAUTH_PKCE_ENABLED"] is True
    assert config["APPS"] == [
        {
            "provider_id": "entra",
            "name": "Contoso",
            "client_id": "11111111-2222",
            "secret": "s3cret",
            "settings": {"server_url": ENTRA["issuer"], "scope": ["openid", "email"]},
        }
    ]
    assert oidc.form_action_origins(providers) == ["https://login.microsoftonline.com"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "OIDC_PROVIDERS is not JSON"),
        ('"entra"', "OIDC_PROVIDERS is a JSON list of providers."),
        (json.dumps([{**ENTRA, "secret": ""}]), "provider 1 needs secret."),
        (json.dumps([{**ENTRA, "id": "Entra ID"}]), "is lower-case letters"),
        (json.dumps([{**ENTRA, "tenant": "x"}]), "unknown keys tenant"),
        (json.dumps([{**ENTRA, "issuer": "login.example.com"}]), "the issuer's https:// URL"),
        (json.dumps([ENTRA, ENTRA]), "two providers have the same id"),
        (json.dumps([{**ENTRA, "form_action": "https://x"}]), "form_action is a list"),
        (json.dumps([{**ENTRA, "scim_claim": ["oid"]}]), "scim_claim is the name of a claim"),
    ],
)
def test_a_mistake_is_named(value, message):
    with pytest.raises(oidc.ProviderConfigError, match=message):
        oidc.parse(value)


def test_the_portal_does_not_start_with_a_mistake_and_does_not_show_the_secret():
    result = start_with(json.dumps([{**ENTRA, "id": "Entra ID"}]))
    assert result.returncode != 0
    assert "ImproperlyConfigured: OIDC_PROVIDERS: provider 1's id 'Entra ID'" in result.stderr
    assert "s3cret" not in result.stderr


def test_the_portal_starts_with_a_provider():
    assert start_with(json.dumps([ENTRA])).returncode == 0

"""OIDC_PROVIDERS, the identity providers of single sign-on (issue 22), read from the environment.

The settings call `parse` once; tests call it too, with the address of the provider they start,
so that what a test configures is what an operator configures. No Django here: settings import it.

OIDC_PROVIDERS is a JSON list, one object per provider:

    [{"id": "entra", "name": "Contoso", "server_url": "https://login.microsoftonline.com/<tenant>/v2.0",
      "client_id": "...", "secret": "..."}]

`id` names the provider in the portal's addresses (/accounts/oidc/<id>/login/callback/) and in
every link of a person to it, so it must never change once people have signed in; `name` is
what "Sign in with <name>" says. `issuer` is accepted for `server_url`. Optional: `scopes`
(default openid profile email), `form_action` (origins the sign-in form may lead to besides the
issuer's own, for a provider whose authorization endpoint lives elsewhere), `scim_claim` (the
claim whose value SCIM provisioning sent as the person's externalId: `oid` for Entra ID, `sub`
for Okta; a first sign-in then finds the provisioned person by it, accounts/sso.py).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_KNOWN = {
    "id",
    "name",
    "server_url",
    "issuer",
    "client_id",
    "secret",
    "scopes",
    "form_action",
    "scim_claim",
}


class ProviderConfigError(ValueError):
    pass


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def parse(text: str) -> list[dict[str, Any]]:
    """The providers of OIDC_PROVIDERS, checked; [] for an empty value."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProviderConfigError(f"OIDC_PROVIDERS is not JSON: {error}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ProviderConfigError("OIDC_PROVIDERS is a JSON list of providers.")
    providers: list[dict[str, Any]] = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ProviderConfigError(f"OIDC_PROVIDERS: provider {number} is not an object.")
        unknown = sorted(set(item) - _KNOWN)
        if unknown:
            raise ProviderConfigError(
                f"OIDC_PROVIDERS: provider {number} has unknown keys {', '.join(unknown)} "
                f"(known: {', '.join(sorted(_KNOWN))})."
            )
        provider = dict(item)
        if "server_url" not in provider and "issuer" in provider:
            provider["server_url"] = provider.pop("issuer")
        for key in ("id", "name", "server_url", "client_id", "secret"):
            if not isinstance(provider.get(key), str) or not provider[key].strip():
                raise ProviderConfigError(f"OIDC_PROVIDERS: provider {number} needs {key}.")
        form_action = provider.get("form_action", [])
        if not isinstance(form_action, list) or not all(isinstance(o, str) for o in form_action):
            raise ProviderConfigError(
                f"OIDC_PROVIDERS: provider {number}'s form_action is a list of origins."
            )
        if not isinstance(provider.get("scim_claim", ""), str):
            raise ProviderConfigError(
                f"OIDC_PROVIDERS: provider {number}'s scim_claim is the name of a claim."
            )
        if not _ID.match(provider["id"]):
            raise ProviderConfigError(
                f"OIDC_PROVIDERS: provider {number}'s id {provider['id']!r} is lower-case "
                "letters, digits, - and _ (it is part of the redirect URI)."
            )
        if urlsplit(provider["server_url"]).scheme not in {"https", "http"}:
            raise ProviderConfigError(
                f"OIDC_PROVIDERS: provider {number}'s server_url is the issuer's https:// URL."
            )
        providers.append(provider)
    ids = [provider["id"] for provider in providers]
    if len(set(ids)) != len(ids):
        raise ProviderConfigError("OIDC_PROVIDERS: two providers have the same id.")
    return providers


def socialaccount_providers(providers: list[dict[str, Any]]) -> dict[str, Any]:
    """SOCIALACCOUNT_PROVIDERS for allauth's openid_connect provider (apps from settings, not
    from the database), with PKCE on."""
    apps = []
    for provider in providers:
        app_settings: dict[str, Any] = {"server_url": provider["server_url"]}
        scopes = provider.get("scopes")
        if scopes:
            app_settings["scope"] = scopes.split() if isinstance(scopes, str) else list(scopes)
        apps.append(
            {
                "provider_id": provider["id"],
                "name": provider["name"],
                "client_id": provider["client_id"],
                "secret": provider["secret"],
                "settings": app_settings,
            }
        )
    return {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": apps}}


def form_action_origins(providers: list[dict[str, Any]]) -> list[str]:
    """What the CSP's form-action must allow: the "Sign in with" form posts to the portal,
    which redirects to the provider's authorization endpoint, and browsers apply form-action
    to every redirect that follows a form's submission."""
    origins: list[str] = []
    for provider in providers:
        for url in [provider["server_url"], *provider.get("form_action", [])]:
            if origin(url) not in origins:
                origins.append(origin(url))
    return origins

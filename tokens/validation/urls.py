from django.urls import path

from tokens.validation import views as api
from tokens.validation.forward_auth import forward_auth_view

urlpatterns = [
    path("connect/introspect", api.introspect_view, name="introspect"),
    path("connect/revocation", api.revocation_view, name="revocation"),
    path(".well-known/oauth-authorization-server", api.metadata_view, name="oauth-metadata"),
    path("api/tokens/self", api.token_self_view, name="token-self"),
    path("api/tokens/self/rotate", api.token_rotate_self_view, name="token-self-rotate"),
    # Gateways' forward auth (issue 25).
    path("connect/forward-auth", forward_auth_view, name="forward-auth"),
    # Envoy's ext_authz appends the request's path to the check's URL.
    path("connect/forward-auth/<path:original>", forward_auth_view, name="forward-auth-path"),
    path("healthz", api.healthz_view, name="healthz"),
]

"""What every token view needs of HTTP, whichever site it belongs to (profile, admin, API)."""

import ipaddress
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted_networks(networks: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _from_trusted_proxy(peer: str) -> bool:
    # The settings refuse a proxy count without networks: no networks, no proxy believed.
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def remote_address(request: HttpRequest) -> str | None:
    """The caller's address: the one policy of the audit trail, last-used addresses and axes.

    With TRUSTED_PROXY_COUNT = N > 0, each of the N proxies in front appended its peer's address
    to X-Forwarded-For, so the caller is the N-th entry from the right; entries further left
    were written by the caller and may be forged. The header is read only from a peer inside
    TRUSTED_PROXY_NETWORKS (which the settings require with a count): a caller that reaches the
    server around the proxy cannot choose its own address. Anything unreadable falls back to the
    peer's address.
    """
    if "client_ip" in request.__dict__:
        # Worked out once per request: common.middleware.RequestIdMiddleware keeps it there.
        return request.client_ip  # type: ignore[attr-defined]
    peer = request.META.get("REMOTE_ADDR") or None
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0 or peer is None or not _from_trusted_proxy(peer):
        return peer
    chain = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part]
    if len(chain) < count:
        return peer
    return _ip(chain[-count]) or peer


def no_store(response: HttpResponse) -> HttpResponse:
    """Keep a response out of every cache and the back button: it holds a secret or a token's
    state. RFC 6749 asks exactly `Cache-Control: no-store` of token endpoints."""
    if "Cache-Control" in response:
        patch_cache_control(response, no_store=True)
    else:  # the usual case, and the validation URL's: no header to merge with
        response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response

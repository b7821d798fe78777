"""What every token view needs of HTTP, whichever site it belongs to (profile, admin, API)."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def remote_address(request: HttpRequest) -> str | None:
    """The caller's address, for audit rows. Behind a proxy this is the proxy's address."""
    return request.META.get("REMOTE_ADDR") or None


def no_store(response: HttpResponse) -> HttpResponse:
    """Keep a response out of every cache and the back button: it holds a secret or a token's
    state. RFC 6749 asks exactly `Cache-Control: no-store` of token endpoints."""
    patch_cache_control(response, no_store=True)
    response["Pragma"] = "no-cache"
    return response

"""The e-mails of token requests: the administrators on a new request, the requester on the
decision. None holds a token (there is none yet when they are sent)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, Q
from django.urls import reverse

from accounts.models import User, holds_admin_permission
from approvals.models import TokenRequest
from common import emails


def admin_addresses() -> list[str]:
    """Who decides: the active superusers and staff holding the instance-admin permission that
    have an address; OPERATIONS_EMAIL when none has."""
    admins = (
        User.objects.people()
        .filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True) & holds_admin_permission(OuterRef("pk")))
        .exclude(email="")
        .values_list("email", flat=True)
    )
    addresses = sorted(set(admins))
    if not addresses and settings.OPERATIONS_EMAIL:
        addresses = [settings.OPERATIONS_EMAIL]
    return addresses


def _portal_url(path: str, words: str) -> str:
    """A link where the portal knows its address (PORTAL_BASE_URL), else where to go, in words."""
    base = settings.PORTAL_BASE_URL
    return f"{base}{path}" if base else words


def tell_admins(token_request: TokenRequest) -> None:
    to = admin_addresses()
    if not to:
        return
    url = _portal_url(
        reverse("admin:approvals_tokenrequest_change", args=[token_request.pk]),
        "the portal's administration (Token requests)",
    )
    emails.send("token-requested", {"request": token_request, "url": url}, to, quiet=True)


def tell_requester(token_request: TokenRequest) -> None:
    if not token_request.requester.email:
        return
    url = _portal_url(
        reverse("token_request_list"),
        "Profile → Security → Personal access tokens → Token requests in the portal",
    )
    emails.send(
        "token-request-decided",
        {"request": token_request, "url": url},
        [token_request.requester.email],
        quiet=True,
    )

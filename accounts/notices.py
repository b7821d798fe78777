"""Account security notices and events (issue 21): a second factor added or removed, recovery
codes used or regenerated, a password changed or reset. Each is mailed to the person (security
notices cannot be turned off), with the time and the address it came from, and is an account
event in the logs and /metrics. Sign-ins are events only.
"""

from __future__ import annotations

from typing import Any

from allauth.account.signals import password_changed, password_reset
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import (
    authenticator_added,
    authenticator_removed,
    authenticator_reset,
    authenticator_used,
)
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.events import account_event
from common.emails import send
from common.http import remote_address

_KINDS = {
    Authenticator.Type.TOTP: "an authenticator app",
    Authenticator.Type.WEBAUTHN: "a security key or passkey",
    Authenticator.Type.RECOVERY_CODES: "recovery codes",
}


def _where() -> str:
    base = settings.PORTAL_BASE_URL
    path = reverse("mfa_index")
    return f"{base}{path}" if base else "Profile → Security → Two-factor authentication"


def notify(request: HttpRequest | None, user: Any, event: str, what: str) -> None:
    """The event, and the notice telling `user` that `what` happened to their account."""
    address = remote_address(request) if request is not None else None
    account_event(request, event, user=user)
    if not getattr(user, "email", ""):
        return
    context = {
        "user": user,
        "what": what,
        "when": timezone.now(),
        "address": address,
        "where": _where(),
    }
    send("account-changed", context, [user.email], quiet=True)


@receiver(authenticator_added, dispatch_uid="portal-mfa-added")
def _added(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator, **kw: Any):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return  # made with the first factor, whose notice says so
    what = f"{_KINDS[authenticator.type]} was added as a second factor"
    notify(request, user, "account.mfa_added", what)


@receiver(authenticator_removed, dispatch_uid="portal-mfa-removed")
def _removed(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator, **kw: Any):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        return  # removed with the last factor, whose notice says so
    what = f"{_KINDS[authenticator.type]} was removed from your second factors"
    notify(request, user, "account.mfa_removed", what)


@receiver(authenticator_reset, dispatch_uid="portal-recovery-codes-regenerated")
def _reset(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator, **kw: Any):
    what = "new recovery codes were made (the old ones no longer work)"
    notify(request, user, "account.recovery_codes_regenerated", what)


@receiver(authenticator_used, dispatch_uid="portal-recovery-code-used")
def _used(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator, **kw: Any):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        what = "a recovery code was used to sign in or confirm it is you"
        notify(request, user, "account.recovery_code_used", what)


@receiver(password_changed, dispatch_uid="portal-password-changed")
def _password_changed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    notify(request, user, "account.password_changed", "your password was changed")


@receiver(password_reset, dispatch_uid="portal-password-reset")
def _password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    notify(request, user, "account.password_reset", "your password was reset by e-mail")


@receiver(user_logged_in, dispatch_uid="portal-account-signed-in")
def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    account_event(request, "account.signed_in", user=user)

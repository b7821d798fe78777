"""Sign-in security events: logged and counted where they happen (Django's and axes' signals)."""

from __future__ import annotations

import logging

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from accounts.events import account_event
from common.logs import security_event
from common.metrics import SIGNIN_FAILURES, SIGNIN_LOCKOUTS


def _known_username(username: object) -> str | None:
    # People sometimes type their password into the username field: a name that is nobody's is
    # left out of the logs.
    if not isinstance(username, str) or not username:
        return None
    return username if get_user_model().objects.filter(username=username).exists() else None


@receiver(user_login_failed, dispatch_uid="portal-signin-failed")
def log_failed_sign_in(sender, credentials: dict, request=None, **kwargs) -> None:
    SIGNIN_FAILURES.inc()
    username = _known_username(credentials.get("username"))
    security_event(
        "signin.failed",
        level=logging.WARNING,
        username=username,
        username_known=username is not None,
    )
    if username is not None:
        # The account's own audit trail (issue 21): a failed sign-in (password or code) of it.
        account_event(
            request,
            "account.signin_failed",
            user=get_user_model().objects.get(username=username),
            log=False,  # logged above as signin.failed
        )


@receiver(user_locked_out, dispatch_uid="portal-signin-lockout")
def log_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    SIGNIN_LOCKOUTS.inc()
    security_event(
        "signin.locked_out",
        level=logging.WARNING,
        username=_known_username(username),
        client_ip=ip_address,
    )

"""The portal's side of django-allauth: who may sign up (nobody), where a sign-in may lead, the
caller's address, sudo mode's one clock, and the sign-in form (the second-factor forms, under
django-axes, are in accounts/factor_forms.py).

allauth does sign-in, second factors, password change and reset, and the signed-in sessions;
these hooks make it follow the portal's rules instead of allauth's defaults.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import LoginForm
from allauth.account.signals import authentication_step_completed
from allauth.core import context
from django import forms
from django.contrib.auth import SESSION_KEY
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from accounts import sso, sudo
from accounts.sessions import start_clock
from common.http import remote_address

# Where a person is never sent after signing in: straight back to signing in or out is a loop.
_NEVER_NEXT = {"login", "logout", "account_login", "account_logout", "admin:login"}
# The backend that a session of a person names (a passkey sign-in finds the user itself).
PEOPLE_BACKEND = "accounts.backends.PeopleOnlyBackend"
# allauth's flash messages that say nothing the page does not show already.
_QUIET_MESSAGES = {"account/messages/logged_in.txt", "account/messages/logged_out.txt"}


class PortalAccountAdapter(DefaultAccountAdapter):
    # The portal's own wording for a failed sign-in (the same whatever was wrong).
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "username_password_mismatch": (
            "Please enter a correct username and password. Note that both fields may be "
            "case-sensitive."
        ),
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are made by administrators (or, later, by single sign-on).
        return False

    def is_safe_url(self, url: str | None) -> bool:
        if not url or not url.isprintable():  # control characters: never a link anyone followed
            return False
        try:
            match = resolve(urlsplit(url).path)
        except Resolver404:
            pass
        else:
            if match.view_name in _NEVER_NEXT or match.url_name in _NEVER_NEXT:
                return False
        return bool(super().is_safe_url(url))

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        # Sudo mode is one thing: a sign-in, or a confirmation by any factor (allauth's
        # reauthentication), lasts REAUTH_MAX_AGE for allauth's pages as for the portal's.
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        return not sudo.is_recent(context.request)

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        # SSO_ONLY (issue 22): every way in but the identity provider (a passkey too; the
        # password form says it earlier, SignInForm.clean) is closed to a linked person.
        if "sociallogin" not in (kwargs.get("signal_kwargs") or {}):
            refusal = sso.password_refusal(user)
            if refusal is not None:
                from allauth.account.internal.stagekit import clear_login

                clear_login(request)
                return render(request, "account/sso_only.html", {"refusal": refusal}, status=403)
        return super().pre_login(request, user, **kwargs)

    def get_client_ip(self, request: HttpRequest) -> str:
        # The caller's address as the audit trail and axes see it (TRUSTED_PROXY_COUNT).
        return remote_address(request) or "0.0.0.0"  # noqa: S104 (a placeholder, not a bind)

    def login(self, request: HttpRequest, user: Any) -> None:
        # allauth would name the first backend with get_user (axes'): a session of a person
        # names the backend that refuses system users.
        if not hasattr(user, "backend"):
            user.backend = PEOPLE_BACKEND
        super().login(request, user)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        if message_template in _QUIET_MESSAGES:
            return
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )


class SignInForm(LoginForm):
    """allauth's sign-in form; the username field says "Username", without a placeholder."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.widget.attrs.pop("placeholder", None)
        login.widget.attrs.update({"autocapitalize": "none", "autofocus": True})
        self.fields["password"].widget.attrs.pop("placeholder", None)

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        if self.user is not None:
            # SSO_ONLY (issue 22): the password was right, but this person signs in through
            # their identity provider.
            refusal = sso.password_refusal(self.user)
            if refusal is not None:
                raise forms.ValidationError(refusal, code="sso_only")
        return cleaned_data

    def login(self, request: HttpRequest, redirect_url: str | None = None) -> HttpResponse:
        response = super().login(request, redirect_url)
        # allauth sets the session's expiry after signing in ("remember me"): the portal's
        # timeouts (accounts/sessions.py) are set again over it.
        if SESSION_KEY in request.session:
            start_clock(request.session)
        return response


@receiver(authentication_step_completed, dispatch_uid="portal-reauthenticated")
def _reauthenticated(sender: Any, request: HttpRequest, method: str, **kwargs: Any) -> None:
    # allauth's reauthentication (password, authenticator code, security key) confirms sudo
    # mode for the portal's own pages too.
    if kwargs.get("reauthenticated"):
        sudo.mark_confirmed(request, method=method)

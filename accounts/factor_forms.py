"""The second-factor code forms of django-allauth, under django-axes (issue 21): the second step
of signing in, and a code confirming sudo mode (allauth's reauthentication page, and the
portal's own confirmation page, accounts/sudo.py)."""

from __future__ import annotations

from typing import Any

from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib.auth.signals import user_login_failed


class _CountedCode:
    """An authenticator or recovery code, under django-axes.

    A wrong code counts as a failed sign-in of that username from that address, as a wrong
    password does; once that pair is locked, no code is tried and the lockout page answers.
    """

    user: Any
    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("placeholder", None)
        self.fields["code"].widget.attrs.update(
            {"inputmode": "text", "autocapitalize": "none", "autofocus": True}
        )

    def clean_code(self) -> str:
        request = context.request
        credentials = {"username": self.user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            raise forms.ValidationError("Too many failed attempts.")
        try:
            return super().clean_code()  # type: ignore[misc]  # allauth's form, mixed in
        except forms.ValidationError:
            # Django's signal for a failed sign-in: axes counts it, accounts/signals.py logs it.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            raise


class SecondFactorForm(_CountedCode, AuthenticateForm):
    """The second step of signing in."""


class ReconfirmCodeForm(_CountedCode, ReauthenticateForm):
    """A code confirming sudo mode (allauth's reauthentication page, and the portal's)."""

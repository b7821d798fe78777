"""Single sign-on through OpenID Connect (issue 22): the portal's rules for allauth.socialaccount.

A person is found by their provider's `sub` (allauth's SocialAccount: provider id and uid). Only
where OIDC_LINK_VERIFIED_EMAIL is on, and the provider says the address is verified, is an
existing person found by e-mail, and then linked for good; a superuser (the break-glass account)
or a system user never is. Someone the portal does not know is made on the spot where
OIDC_CREATE_USERS allows it (allauth gives them an unusable password), or refused with a page
that says what to do.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        if settings.OIDC_CREATE_USERS:
            return True
        raise ImmediateHttpResponse(
            render(
                request,
                "socialaccount/no_account.html",
                {"provider_name": sociallogin.provider.name},
                status=403,
            )
        )

    def can_authenticate_by_email(self, login: Any, email: str) -> bool:
        return bool(settings.OIDC_LINK_VERIFIED_EMAIL)

    def authenticate_by_email(self, sociallogin: Any) -> tuple[Any, str] | None:
        # allauth offers only the addresses that the provider marks verified.
        found = super().authenticate_by_email(sociallogin)
        if found is None:
            return None
        user, email = found
        if user.is_superuser or user.is_system_user or not user.is_active:
            return None
        # The address is the one an administrator (or SCIM) gave the person, and the provider
        # has just verified it: recorded as verified, so allauth keeps the person's password
        # (it wipes it where the local address is unverified, against sign-up squatters, whom
        # a portal without sign-up does not have).
        address, _ = EmailAddress.objects.get_or_create(
            user=user, email__iexact=email, defaults={"email": email}
        )
        if not address.verified:
            address.verified = True
            address.save(update_fields=["verified"])
        return user, email

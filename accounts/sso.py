"""Single sign-on through OpenID Connect (issue 22): the portal's rules for allauth.socialaccount.

A person is found by their provider's `sub` (allauth's SocialAccount: provider id and uid). Only
where OIDC_LINK_VERIFIED_EMAIL is on, and the provider says the address is verified, is an
existing person found by e-mail, and then linked for good; a superuser (the break-glass account)
or a system user never is. Someone the portal does not know is made on the spot where
OIDC_CREATE_USERS allows it (allauth gives them an unusable password), or refused with a page
that says what to do.

A provider configured with `scim_claim` (OIDC_PROVIDERS) also finds, on a first sign-in, the
person its SCIM provisioning made: the one whose externalId is that claim's value (Entra ID's
`oid`, Okta's `sub`), so that provisioning and sign-in meet in one account, without an e-mail.

SSO_ONLY: a person linked to a configured provider signs in only through it (the password form,
and a password as sudo mode's confirmation, refuse them with a message that says so), and
cannot unlink their last link; superusers are the break-glass exception.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.signals import social_account_added, social_account_removed
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render


def provider_names() -> dict[str, str]:
    """The configured providers' display names, by id (OIDC_PROVIDERS)."""
    return {provider["id"]: provider["name"] for provider in settings.OIDC_PROVIDERS}


def linked_provider_names(user: Any) -> list[str]:
    """The configured providers this person is linked to, by display name."""
    names = provider_names()
    linked = SocialAccount.objects.filter(user_id=user.pk, provider__in=names)
    return [names[provider] for provider in linked.values_list("provider", flat=True).distinct()]


def password_refusal(user: Any) -> str | None:
    """Why SSO_ONLY refuses this person's password, or None where it does not."""
    if not settings.SSO_ONLY or user.is_superuser:
        return None
    names = linked_provider_names(user)
    if not names:
        return None
    return (
        f"Your account signs in with {names[0]}: use \u201cSign in with {names[0]}\u201d. "
        "Signing in with a password or a passkey is turned off for accounts linked to your "
        "organisation's identity provider."
    )


def _provisioned_person(sociallogin: Any) -> Any:
    """The person SCIM provisioned with this identity's `scim_claim` as externalId, if any."""
    config = next(
        (p for p in settings.OIDC_PROVIDERS if p["id"] == sociallogin.account.provider), {}
    )
    claim = config.get("scim_claim")
    if not claim:
        return None
    data = sociallogin.account.extra_data or {}
    claims = {**(data.get("id_token") or {}), **(data.get("userinfo") or {})}
    value = claims.get(claim)
    if not isinstance(value, str) or not value:
        return None
    # Looked up by name: scim builds on accounts, never the other way round.
    provisioned_model = apps.get_model("scim", "ProvisionedUser")
    provisioned = (
        provisioned_model.objects.filter(
            external_id=value,
            deleted_at__isnull=True,
            user__is_active=True,
            user__is_superuser=False,
        )
        .select_related("user")
        .first()
    )
    return provisioned.user if provisioned is not None else None


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

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        if sociallogin.is_existing:
            return  # found by sub (or by a verified address, where allowed)
        person = _provisioned_person(sociallogin)
        if person is not None:
            sociallogin.connect(request, person)

    def validate_disconnect(self, account: Any, accounts: Any) -> None:
        # allauth refuses to unlink the last link of someone without a password; SSO_ONLY
        # refuses it to everyone but a superuser: it would bring the password back.
        is_last = not accounts.exclude(pk=account.pk).exists()
        if settings.SSO_ONLY and is_last and not account.user.is_superuser:
            raise ValidationError(
                "Your organisation signs you in through its identity provider: the last link "
                "cannot be removed. Ask your administrator."
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


@receiver(social_account_added, dispatch_uid="portal-sso-linked")
def _linked(sender: Any, request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    # A provider linked to an existing account is a new way into it: the person is told, as
    # for a new second factor (someone with a stolen session could link their own identity).
    from accounts.notices import notify

    name = provider_names().get(sociallogin.account.provider, sociallogin.account.provider)
    what = f"the identity provider {name} was linked for signing in"
    notify(request, sociallogin.user, "account.sso_linked", what)


@receiver(social_account_removed, dispatch_uid="portal-sso-unlinked")
def _unlinked(sender: Any, request: HttpRequest, socialaccount: Any, **kwargs: Any) -> None:
    from accounts.notices import notify

    name = provider_names().get(socialaccount.provider, socialaccount.provider)
    what = f"the identity provider {name} was unlinked: it no longer signs you in"
    notify(request, socialaccount.user, "account.sso_unlinked", what)

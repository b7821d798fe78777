from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Permission, UserManager
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

# Superusers hold every permission; anyone else needs this one to act as an instance administrator
# (issue service tokens, and personal tokens for applications open to administrators only).
ISSUE_SERVICE_TOKENS_PERMISSION = "tokens.issue_service_tokens"
# Revoking is the one change anyone may make to a token.
REVOKE_ANY_TOKEN_PERMISSION = "tokens.change_referencetoken"


def holds_admin_permission(user: int | Combinable) -> Q:
    """Whether `user` (an id, or an expression of one such as OuterRef("user_id")) holds the
    instance-admin permission, directly or through one of its groups, as a query condition.

    What Django's model backend reads for `has_perm` (`User.is_instance_admin`), for queries;
    the validation URL's SQL is compiled from it (tokens.validation.lookup).
    """
    app_label, codename = ISSUE_SERVICE_TOKENS_PERMISSION.split(".")
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    directly, through_group = Q(user=user), Q(group__user=user)
    return Q(Exists(permission.filter(directly))) | Q(Exists(permission.filter(through_group)))


class PortalUserQuerySet(models.QuerySet["User"]):
    def people(self) -> PortalUserQuerySet:
        return self.filter(system_application__isnull=True)

    def system_users(self) -> PortalUserQuerySet:
        return self.filter(system_application__isnull=False)


# A named subclass: migrations record this manager (UserManager is used in migrations), and
# they can only name a class that its module defines. The stubs cannot type a dynamic base.
class PortalUserManager(UserManager.from_queryset(PortalUserQuerySet)):  # type: ignore[misc]
    def holds_admin_permission(self, user_id: int) -> bool:
        """One query: does this (non-superuser) user hold the instance-admin permission?"""
        return self.filter(pk=user_id).filter(holds_admin_permission(OuterRef("pk"))).exists()


class User(AbstractUser):
    """A person, or the system user of one trusted application (which never signs in)."""

    system_application = models.OneToOneField(
        "trustedapps.TrustedApplication",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="system_user",
        help_text="Set for the system user of a trusted application; such a user cannot sign in.",
    )

    # Expiry notices may be turned off; security notices (a token created for this account, or
    # revoked by someone else) always go.
    notify_expiry = models.BooleanField(
        "expiry notices",
        default=True,
        help_text="E-mail me before one of my tokens expires, on the schedule this portal sets "
        "(by default 30, 7 and 1 days before, and on expiry).",
    )

    # MFA_REQUIRED (accounts/mfa_policy.py): when this person's grace period to add a second
    # factor began (the first time the policy found them without one).
    mfa_grace_started_at = models.DateTimeField(
        "second-factor grace period started", null=True, blank=True, editable=False
    )

    # django-stubs cannot type a manager that replaces AbstractUser's, nor AbstractUser.Meta.
    objects = PortalUserManager()  # type: ignore[misc]

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"

    @property
    def is_system_user(self) -> bool:
        return self.system_application_id is not None

    @property
    def may_revoke_any_token(self) -> bool:
        """Instance admins, and staff granted the change permission on tokens (the admin's)."""
        return self.is_instance_admin or self.has_perm(REVOKE_ANY_TOKEN_PERMISSION)

    @property
    def is_instance_admin(self) -> bool:
        """May issue service tokens, and personal tokens where only administrators may."""
        if not self.is_active or self.is_system_user:
            return False
        return self.is_superuser or self.has_perm(ISSUE_SERVICE_TOKENS_PERMISSION)

    def __str__(self) -> str:
        return self.username


class AccountEvent(models.Model):
    """The audit trail of an account (issue 21): sign-ins, second factors, passwords, sessions,
    sudo confirmations. Beside the tokens' (tokens.TokenEvent), with the same kind of fields;
    never a secret in `detail`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_events")
    event = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField("from address", null=True, blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="account_event_user_at")]

    def __str__(self) -> str:
        return f"{self.event} {self.user} at {self.at:%Y-%m-%d %H:%M}"

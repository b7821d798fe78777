from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import User


DEFAULT_TOKEN_LIFETIME = timedelta(days=30)


class Scope(models.Model):
    """An entry of the scope catalogue: what a token may be used for (`read`, `update`, ...)."""

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_.:-]*$", "Lower-case letters, digits, _.:-")],
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TokenPolicy(models.TextChoices):
    NONE = "none", "No tokens"
    AUTHENTICATED_USERS = "authenticated_users", "Authenticated users"
    ADMINISTRATORS_ONLY = "administrators_only", "Administrators only"
    # Issue 23: a person asks for a token (approvals.TokenRequest), an administrator decides.
    APPROVAL = "approval", "People may request, admins approve"

    # The one policy rule: the create forms, issuing and the active rule (tokens/domain/status.py)
    # ask it.
    def allows_personal(self, *, by_admin: bool) -> bool:
        """May a person (an instance administrator, or not) hold a personal token?"""
        # An approved request's token is held like any other (its issuing is the approval's).
        return self in (TokenPolicy.AUTHENTICATED_USERS, TokenPolicy.APPROVAL) or (
            self is TokenPolicy.ADMINISTRATORS_ONLY and by_admin
        )

    @property
    def needs_approval(self) -> bool:
        """Are personal tokens only issued on an approved request (never directly)?"""
        return self is TokenPolicy.APPROVAL

    def allows_service(self) -> bool:
        """May the application's system user hold service tokens (issued by administrators)?"""
        return self is not TokenPolicy.NONE

    @classmethod
    def allowing_personal(cls, *, by_admin: bool) -> list[TokenPolicy]:
        return [policy for policy in cls if policy.allows_personal(by_admin=by_admin)]


# --- Token lifetime rules (issue 23) ------------------------------------------------------------
# Per kind of token, for the instance (InstanceTokenPolicy) and per application (its own fields):
# the stricter wins. Each rule is off (the default: nothing changes), reported (nothing is
# blocked, the portal counts what would be) or enforced (at issue, at rotation and at use:
# tokens/domain/status.py).

TOKEN_KINDS = ("personal", "service")


class RuleMode(models.TextChoices):
    OFF = "off", "Off"
    REPORT = "report", "Report only"
    ENFORCE = "enforce", "Enforce"


def _mode_field(label: str) -> models.CharField:
    # db_default too: rows inserted by plain SQL (seeds, other tools) get the rule off.
    return models.CharField(
        label,
        max_length=8,
        choices=RuleMode.choices,
        default=RuleMode.OFF,
        db_default=RuleMode.OFF,
    )


def _days_field(label: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        label, null=True, blank=True, validators=[MinValueValidator(1)]
    )


class LifetimeRules(models.Model):
    """The lifetime rules of one source (the instance, or an application), per kind of token."""

    personal_lifetime_mode = _mode_field("personal: longest lifetime")
    personal_lifetime_days = _days_field("personal: longest lifetime (days)")
    personal_expiry_mode = _mode_field("personal: expiry required")
    personal_chain_mode = _mode_field("personal: longest rotation chain")
    personal_chain_days = _days_field("personal: longest rotation chain (days)")
    service_lifetime_mode = _mode_field("service: longest lifetime")
    service_lifetime_days = _days_field("service: longest lifetime (days)")
    service_expiry_mode = _mode_field("service: expiry required")
    service_chain_mode = _mode_field("service: longest rotation chain")
    service_chain_days = _days_field("service: longest rotation chain (days)")

    # The fields of these rules, for forms, audit and the lookup's columns.
    RULE_FIELDS = tuple(
        f"{kind}_{name}"
        for kind in TOKEN_KINDS
        for name in ("lifetime_mode", "lifetime_days", "expiry_mode", "chain_mode", "chain_days")
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors = {}
        for kind in TOKEN_KINDS:
            for rule in ("lifetime", "chain"):
                mode = getattr(self, f"{kind}_{rule}_mode")
                if mode != RuleMode.OFF and not getattr(self, f"{kind}_{rule}_days"):
                    errors[f"{kind}_{rule}_days"] = "Say how many days (the rule is on)."
        if errors:
            raise ValidationError(errors)


# --- Expiry reminders and unused tokens (issue 23) ---------------------------------------------
# The days before expiry at which the owners are reminded, largest first; 0 is "on expiry" (the
# token has just stopped working). At most this many stages, each within a year.
DEFAULT_REMINDER_SCHEDULE = "30 7 1 0"
REMINDER_STAGES_AT_MOST = 5
REMINDER_DAYS_AT_MOST = 365
# An unused token's owner is told this many days before it is revoked.
UNUSED_WARNING_DAYS = 7


def parse_reminder_schedule(text: str) -> list[int]:
    """ "30, 7 1 0" -> [30, 7, 1, 0]: whole days before expiry, distinct, largest first."""
    parts = text.replace(",", " ").split()
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValidationError(
            "Give whole days before expiry separated by spaces, e.g. “30 7 1 0” (0: on expiry)."
        )
    days = sorted({int(part) for part in parts}, reverse=True)
    if len(days) > REMINDER_STAGES_AT_MOST:
        raise ValidationError(f"At most {REMINDER_STAGES_AT_MOST} reminders.")
    if days and days[0] > REMINDER_DAYS_AT_MOST:
        raise ValidationError(f"At most {REMINDER_DAYS_AT_MOST} days before expiry.")
    return days


def validate_reminder_schedule(text: str) -> None:
    parse_reminder_schedule(text)


class InstanceTokenPolicy(LifetimeRules):
    """The instance's token rules: one row (id 1), edited on the admin page "Token policies"."""

    updated_at = models.DateTimeField(auto_now=True)
    # Issue 23: expiry reminders and the revocation of unused tokens (tokens/domain/reminders.py
    # and unused.py; the commands notify_expiring_tokens and revoke_unused_tokens).
    reminder_schedule = models.CharField(
        "expiry reminders (days before expiry)",
        max_length=40,
        blank=True,
        default=DEFAULT_REMINDER_SCHEDULE,
        db_default=DEFAULT_REMINDER_SCHEDULE,
        validators=[validate_reminder_schedule],
        help_text="Whole days, e.g. “30 7 1 0”; 0 is a notice on expiry. At most "
        f"{REMINDER_STAGES_AT_MOST}. Each is sent once per token; empty: no reminders.",
    )
    unused_revoke_days = models.PositiveIntegerField(
        "revoke tokens unused for (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(UNUSED_WARNING_DAYS + 1), MaxValueValidator(3650)],
        help_text="Days without use (since creation, if never used) after which a live token is "
        f"revoked. The owner is told {UNUSED_WARNING_DAYS} days before. Empty: never (the "
        "default).",
    )

    # Audited with the lifetime rules on the page "Token policies".
    SCHEDULE_FIELDS = ("reminder_schedule", "unused_revoke_days")

    class Meta:
        verbose_name = "token policies"
        verbose_name_plural = "token policies"

    def __str__(self) -> str:
        return "Token policies"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # the one row the validation lookup joins
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> InstanceTokenPolicy:
        """The instance's rules (all off when nobody has set any; not saved then)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    def clean(self) -> None:
        super().clean()
        with contextlib.suppress(ValidationError):  # the field's own validator said why
            self.reminder_schedule = " ".join(map(str, self.reminder_stages))

    @property
    def reminder_stages(self) -> list[int]:
        """The reminder schedule: days before expiry, largest first (0: on expiry)."""
        return parse_reminder_schedule(self.reminder_schedule)


class TrustedApplicationQuerySet(models.QuerySet["TrustedApplication"]):
    def issuable_by(self, user: User) -> TrustedApplicationQuerySet:
        """The enabled applications this user may issue personal tokens for."""
        if not user.is_active or user.is_system_user:
            return self.none()
        policies = TokenPolicy.allowing_personal(by_admin=user.is_instance_admin)
        policies = [policy for policy in policies if not policy.needs_approval]
        return self.filter(is_enabled=True, token_policy__in=policies)

    def requestable_by(self, user: User) -> TrustedApplicationQuerySet:
        """The enabled applications whose tokens this user may request (issue 23, approval)."""
        if not user.is_active or user.is_system_user:
            return self.none()
        return self.filter(is_enabled=True, token_policy=TokenPolicy.APPROVAL)


class TrustedApplication(LifetimeRules):
    application_uri = models.CharField(
        "application URI",
        max_length=200,
        help_text="Unique identifier, for example com.example/sync.",
        validators=[RegexValidator(r"^\S+$", "An application URI has no spaces.")],
    )
    name = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    is_enabled = models.BooleanField(
        "enabled", default=True, help_text="While off, none of this application's tokens validate."
    )
    token_policy = models.CharField(
        "token policy",
        max_length=32,
        choices=TokenPolicy.choices,
        default=TokenPolicy.NONE,
    )
    has_system_user = models.BooleanField(
        "system user",
        default=False,
        help_text="Service access tokens act as this application's system user.",
    )
    allowed_scopes = models.ManyToManyField(Scope, blank=True, related_name="applications")
    max_token_lifetime_days = models.PositiveIntegerField(
        "longest token lifetime (days)",
        null=True,
        blank=True,
        help_text="Empty: the instance default applies.",
    )
    # Whoever holds a token may rotate it at POST /api/tokens/self/rotate, so one seen in
    # transit could be kept alive by someone else; an application can keep rotation to people.
    holders_may_rotate = models.BooleanField(
        "holders may rotate",
        default=True,
        help_text="Whoever holds one of its tokens may replace it by a new one at "
        "POST /api/tokens/self/rotate, without a person. Off: tokens are rotated only in the "
        "portal or by the rotate_token command.",
    )
    # Issue 23: its service tokens must name the address ranges they may be used from.
    service_tokens_need_ranges = models.BooleanField(
        "service tokens need address ranges",
        default=False,
        db_default=False,
        help_text="Service access tokens must be restricted to address ranges (CIDR) when "
        "issued; one without ranges does not validate.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrustedApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["application_uri"], name="unique_application_uri")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.application_uri})"

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.sync_system_user()

    @property
    def max_token_lifetime(self) -> timedelta:
        days = self.max_token_lifetime_days or settings.TOKEN_MAX_LIFETIME_DAYS
        return timedelta(days=days)

    @property
    def default_token_lifetime(self) -> timedelta:
        """What a new token gets when nobody chooses: 30 days, or less where the app says so."""
        return min(DEFAULT_TOKEN_LIFETIME, self.max_token_lifetime)

    def policy_allows_personal(self, user: User) -> bool:
        if not user.is_active or user.is_system_user:
            return False
        return TokenPolicy(self.token_policy).allows_personal(by_admin=user.is_instance_admin)

    def service_tokens_refusal(self) -> str | None:
        """Why this application cannot have service tokens now, or None when it can."""
        if not TokenPolicy(self.token_policy).allows_service():
            return "Its token policy is 'none'."
        if not self.has_system_user:
            return "It has no system user."
        if not self.is_enabled:
            return "It is disabled."
        return None

    def sync_system_user(self) -> User | None:
        """Create the system user when the application gets one; deactivate it when it loses it.

        Deactivating (never deleting) keeps the audit trail, and makes its tokens inactive at once.
        """
        user = get_user_model().objects.filter(system_application=self).first()
        if self.has_system_user and user is None:
            user = get_user_model()(username=self._system_username(), system_application=self)
            user.set_unusable_password()
            user.save()
        elif user is not None and user.is_active != self.has_system_user:
            user.is_active = self.has_system_user
            user.save(update_fields=["is_active"])
        return user

    def _system_username(self) -> str:
        base = "app." + re.sub(r"[^\w.@+-]", "-", self.application_uri)[:130]
        if get_user_model().objects.filter(username=base).exists():
            return f"{base}.{self.pk}"
        return base


# RFC 6749 appendix A: a client id is made of VSCHAR, printable ASCII. Without the space: a client
# id with a leading or trailing space cannot be told apart in any configuration file.
VISIBLE_ASCII = r"[\x21-\x7e]"
CLIENT_ID_PATTERN = rf"\A{VISIBLE_ASCII}+\Z"
CLIENT_ID_MESSAGE = (
    "Visible ASCII characters only (no spaces), e.g. orders-api or urn:example:orders."
)
CLIENT_ID_MAX_LENGTH = 100
_LOOPBACK_NAMES = {"localhost"}


def validate_resource_uri(uri: object) -> None:
    """An RFC 8707 resource indicator as resource servers match it against their request URLs:
    absolute, https (http only on a loopback host, for development), no userinfo, no fragment,
    no query (RFC 8707 section 2: "SHOULD NOT include a query component")."""
    if not isinstance(uri, str) or not re.fullmatch(rf"{VISIBLE_ASCII}+", uri):
        raise ValidationError(
            "A resource URI is one absolute URL of visible ASCII characters.", code="invalid"
        )
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - raises for a port that is no number
    except ValueError:
        raise ValidationError(f"{uri}: the port is not a number.", code="invalid") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError(f"{uri}: a resource URI is an absolute https:// URL.", code="invalid")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValidationError(
            f"{uri}: plain http only for a loopback host (localhost, 127.0.0.1, [::1]); use https.",
            code="insecure",
        )
    if "@" in parts.netloc:
        raise ValidationError(f"{uri}: a resource URI holds no user name or password.")
    if "#" in uri:
        raise ValidationError(f"{uri}: a resource URI has no fragment (#...).")
    if "?" in uri:
        raise ValidationError(f"{uri}: a resource URI has no query (?...).")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_resource_uris(value: object) -> None:
    if not isinstance(value, list):
        raise ValidationError("Resource URIs are a list of URLs.", code="invalid")
    errors = []
    for uri in value:
        try:
            validate_resource_uri(uri)
        except ValidationError as error:
            errors.append(error)
    if not errors and len(set(value)) != len(value):
        errors.append(ValidationError("A resource URI is listed twice.", code="duplicate"))
    if errors:
        raise ValidationError(errors)


def hash_secret(secret: str) -> str:
    # Generated secrets carry 256 random bits, so SHA-256 suffices (a password hash costs ~0.4 s).
    # surrogatepass: whatever a caller sends hashes to something (it matches nothing) rather
    # than raising.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class SecretRotatedMeanwhile(Exception):
    """The secret was rotated after the person asking last saw it: nothing was changed."""

    def __init__(self, rotated_at: datetime | None) -> None:
        super().__init__(f"The secret was rotated at {rotated_at}.")
        self.rotated_at = rotated_at


class SecretHolder:
    """A model that authenticates callers by a generated secret kept only as its hash
    (resource servers, SCIM clients, leak reporters): making the secret, and rotating it."""

    secret_hash: str
    secret_rotated_at: datetime | None

    def set_secret(self) -> str:
        """Give it a new secret and return it: the only time it exists in plaintext."""
        secret = secrets.token_urlsafe(32)
        self.secret_hash = hash_secret(secret)
        return secret

    def rotate_secret(self, *, seen_rotated_at: datetime | None) -> str:
        """Replace the secret at once (the old one stops working) and return the new one.

        `seen_rotated_at` is the last rotation as the person asking saw it. The row is locked,
        so of concurrent rotations (several admins, a double click) each waits for the one
        before it, then finds it rotated since and gets SecretRotatedMeanwhile: replacing it
        would silently void the secret that the winner was just shown.
        """
        model: Any = type(self)
        with transaction.atomic():
            current = (
                model._default_manager.select_for_update()
                .values_list("secret_rotated_at", flat=True)
                .get(pk=self.pk)  # type: ignore[attr-defined]
            )
            if current != seen_rotated_at:
                raise SecretRotatedMeanwhile(current)
            secret = self.set_secret()
            self.secret_rotated_at = timezone.now()
            self.save(update_fields=["secret_hash", "secret_rotated_at"])  # type: ignore[attr-defined]
        return secret


class ResourceServer(SecretHolder, models.Model):
    """An API that asks the portal whether a token is active, for the scopes it owns."""

    client_id = models.CharField(
        "client ID",
        max_length=CLIENT_ID_MAX_LENGTH,
        help_text="Any visible ASCII characters, so a URL or a URN can be one.",
        validators=[RegexValidator(CLIENT_ID_PATTERN, CLIENT_ID_MESSAGE)],
    )
    name = models.CharField(max_length=200, blank=True)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.ManyToManyField(Scope, blank=True, related_name="resource_servers")
    resource_uris = models.JSONField(
        "resource URIs",
        default=list,
        blank=True,
        validators=[validate_resource_uris],
        help_text="The absolute URLs of the APIs it serves (RFC 8707), sent back as the audience.",
    )
    is_enabled = models.BooleanField("enabled", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["client_id"]
        constraints = [models.UniqueConstraint(fields=["client_id"], name="unique_client_id")]

    def __str__(self) -> str:
        return self.name or self.client_id

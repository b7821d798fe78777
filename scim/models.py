"""Provisioning clients (an identity provider's SCIM connector), the people they manage, and
the audit trail of what each did.

A client authenticates with a bearer secret that exists in plaintext only in the admin page that
made it; the database keeps its SHA-256 (256 random bits: a password hash would add ~0.4 s of CPU
to each call of a connector that makes thousands).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from trustedapps.models import SecretHolder, hash_secret

# last_used_at is written at most this often per client: a full sync makes a call per person.
LAST_USED_INTERVAL = timedelta(seconds=60)


class ScimClientQuerySet(models.QuerySet["ScimClient"]):
    def authenticated_by(self, secret: str) -> ScimClient | None:
        """The enabled client whose secret this is: one indexed query, on the hash only."""
        return self.filter(secret_hash=hash_secret(secret), is_enabled=True).first()


class ScimClient(SecretHolder, models.Model):
    """One identity provider's provisioning connector (Entra ID, Okta), made in the admin."""

    name = models.CharField(
        max_length=100, unique=True, help_text="e.g. “Entra ID production”: named in audit events."
    )
    is_enabled = models.BooleanField(
        "enabled", default=True, help_text="While off, its secret is refused (401)."
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ScimClientQuerySet.as_manager()

    class Meta:
        verbose_name = "SCIM client"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["secret_hash"], name="unique_scim_secret_hash")
        ]

    def __str__(self) -> str:
        return self.name

    def note_use(self, now: datetime | None = None) -> None:
        now = now or timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_INTERVAL:
            ScimClient.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class ProvisionedUser(models.Model):
    """What SCIM knows of a person beyond the user model: the provider's id, who provisioned
    them, and a soft deletion (DELETE keeps the person, inactive, with their audit trail)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provisioning"
    )
    client = models.ForeignKey(
        ScimClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["external_id"], name="provisioned_external_id")]

    def __str__(self) -> str:
        return f"provisioning of {self.user}"


class ProvisioningEvent(models.Model):
    """The audit trail of SCIM: which client did what to whom. Never holds a request body."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"
        DELETED = "deleted", "Deleted (deactivated)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provisioning_events"
    )
    client = models.ForeignKey(
        ScimClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # Kept as text too: the trail still names a client that was deleted since.
    client_name = models.CharField(max_length=100)
    action = models.CharField(max_length=16, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField("from address", null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="provisioning_event_user_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.user} by {self.client_name}"

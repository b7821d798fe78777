"""Token requests (issue 23, approval): for an application whose policy is "people may request,
admins approve", a person asks for a token and an instance administrator decides.

Nothing is minted when a request is approved: the token is made when its requester picks it up
(in sudo mode), with the approved settings, and shown once in that response. So the plaintext
never exists anywhere but in that one page, and a request is picked up at most once, and only
until it expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from trustedapps.models import Scope, TrustedApplication

# How long a request waits for a decision, and an approved one for its pick-up, unless the
# instance says otherwise (settings.TOKEN_REQUEST_EXPIRY_DAYS).
DEFAULT_EXPIRY_DAYS = 7
REASON_MAX_LENGTH = 1000


def expiry_days() -> int:
    return getattr(settings, "TOKEN_REQUEST_EXPIRY_DAYS", DEFAULT_EXPIRY_DAYS)


class RequestState(models.TextChoices):
    REQUESTED = "requested", "Waiting for approval"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"
    PICKED_UP = "picked_up", "Picked up"


# The states a request can still leave (and so expire from).
OPEN_STATES = (RequestState.REQUESTED, RequestState.APPROVED)


class TokenRequestQuerySet(models.QuerySet["TokenRequest"]):
    def of(self, user) -> TokenRequestQuerySet:
        return self.filter(requester=user)

    def pending(self, now: datetime | None = None) -> TokenRequestQuerySet:
        """Waiting for a decision and not expired: what the admins' dashboard counts."""
        return self.filter(state=RequestState.REQUESTED, expires_at__gt=now or timezone.now())


class TokenRequest(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_requests"
    )
    application = models.ForeignKey(
        TrustedApplication, on_delete=models.CASCADE, related_name="token_requests"
    )
    scopes = models.ManyToManyField(Scope, related_name="token_requests")
    lifetime_days = models.PositiveIntegerField(
        "lifetime (days)", validators=[MinValueValidator(1)]
    )
    description = models.CharField(max_length=100, blank=True)
    reason = models.TextField("why you need it", max_length=REASON_MAX_LENGTH)
    state = models.CharField(
        max_length=16, choices=RequestState.choices, default=RequestState.REQUESTED
    )
    requested_at = models.DateTimeField(default=timezone.now)
    # Until a decision, then (when approved) until the pick-up: the deadline of what is open.
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    # The token made at pick-up (its hash only, as every token).
    token = models.OneToOneField(
        "tokens.ReferenceToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="request",
    )

    objects = TokenRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["state", "expires_at"])]

    def __str__(self) -> str:
        return f"Token request #{self.pk} by {self.requester} for {self.application.name}"

    def save(self, *args, **kwargs) -> None:
        if self.expires_at is None:
            self.expires_at = self.requested_at + timedelta(days=expiry_days())
        super().save(*args, **kwargs)

    def current_state(self, now: datetime | None = None) -> str:
        """The state as people see it: an open request past its deadline is expired."""
        if self.state in OPEN_STATES and self.expires_at <= (now or timezone.now()):
            return RequestState.EXPIRED
        return self.state

    @property
    def current_state_label(self) -> str:
        return RequestState(self.current_state()).label

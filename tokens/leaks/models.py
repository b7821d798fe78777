"""The secret scanners that report leaked tokens with a pre-shared bearer secret.

A GitLab instance calls the Token Revocation API (`tokens.leaks.views`) with the secret an
administrator made here; the portal keeps only its SHA-256 (it carries 256 random bits). Each
reporter has its own rate limit, counted in its row so that every worker shares it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from trustedapps.models import SecretHolder, hash_secret


class LeakReporterQuerySet(models.QuerySet["LeakReporter"]):
    def with_secret(self, secret: str) -> LeakReporter | None:
        """The enabled reporter whose secret this is, or None (one indexed lookup)."""
        if not secret or len(secret) > 200:
            return None
        return self.filter(secret_hash=hash_secret(secret), is_enabled=True).first()


class LeakReporter(SecretHolder, models.Model):
    """A secret scanner (a GitLab instance) allowed to report tokens as leaked."""

    name = models.CharField(
        max_length=200, help_text="Which scanner this is, e.g. gitlab.example.com."
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    is_enabled = models.BooleanField("enabled", default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_report_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The rate limit's fixed window: its start (a whole minute) and the requests in it.
    window_start = models.DateTimeField(null=True, blank=True, editable=False)
    window_count = models.PositiveIntegerField(default=0, editable=False)

    objects = LeakReporterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["secret_hash"], name="unique_leak_reporter_secret")
        ]

    def __str__(self) -> str:
        return self.name

    def take_request(self, now: datetime | None = None) -> bool:
        """Count one request in this minute's window; False when the window is full.

        Two conditional UPDATEs, no lock: the row counts for every worker at once.
        """
        now = now or timezone.now()
        window = now.replace(second=0, microsecond=0)
        limit = settings.LEAKS_RATE_LIMIT_PER_MINUTE
        if limit < 1:  # 0: every request refused (a reporter paused without losing its secret)
            return False
        this = LeakReporter.objects.filter(pk=self.pk)
        for _ in range(2):  # a second try: another request may have opened the window meanwhile
            if this.filter(window_start=window, window_count__lt=limit).update(
                window_count=F("window_count") + 1, last_report_at=now
            ):
                return True
            if this.exclude(window_start=window).update(
                window_start=window, window_count=1, last_report_at=now
            ):
                return True
            if this.filter(window_start=window, window_count__gte=limit).exists():
                return False
        return False

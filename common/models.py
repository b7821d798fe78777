"""The one table of the neutral package: one-time form keys already used (common.once)."""

from django.db import models
from django.utils import timezone


class UsedFormKey(models.Model):
    """A form key that has done its one action. The unique constraint is the guarantee."""

    key = models.CharField(max_length=32, editable=False)
    used_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        # A UniqueConstraint rather than unique=True: no second (pattern ops) index on PostgreSQL.
        constraints = [models.UniqueConstraint(fields=["key"], name="unique_used_form_key")]

    def __str__(self) -> str:
        return f"form key used at {self.used_at:%Y-%m-%d %H:%M}"

"""MFA_REQUIRED (issue 21): who must have a second factor, and what they cannot do without one.

`none` asks nobody; `admins`, staff and superusers; `everyone`, every person. Someone the policy
covers who has no second factor gets MFA_GRACE_DAYS from the first time the policy finds them so
(a banner says what to do and by when); after that they can still sign in, see and revoke their
tokens, but cannot create or rotate one, nor (an admin) issue a service token, until they add a
factor. Tokens already issued stay valid: the validation URL does not ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

POLICIES = ("none", "admins", "everyone")


@dataclass(frozen=True)
class Standing:
    """A person's standing under the policy: covered without a factor, and until when."""

    deadline: datetime

    @property
    def overdue(self) -> bool:
        return timezone.now() >= self.deadline


def covers(user) -> bool:
    policy = settings.MFA_REQUIRED
    if policy == "everyone":
        return True
    return policy == "admins" and (user.is_staff or user.is_superuser)


def has_second_factor(user) -> bool:
    from allauth.mfa.utils import is_mfa_enabled

    return bool(is_mfa_enabled(user))


def standing(user) -> Standing | None:
    """None when the policy asks nothing of `user` (not covered, or has a factor)."""
    if not getattr(user, "is_authenticated", False) or settings.MFA_REQUIRED == "none":
        return None
    if not covers(user) or has_second_factor(user):
        return None
    if user.mfa_grace_started_at is None:
        # The grace period starts now, once: the first time the policy finds them without one.
        user.mfa_grace_started_at = timezone.now()
        get_user_model().objects.filter(pk=user.pk, mfa_grace_started_at__isnull=True).update(
            mfa_grace_started_at=user.mfa_grace_started_at
        )
    return Standing(deadline=user.mfa_grace_started_at + timedelta(days=settings.MFA_GRACE_DAYS))


def refusal(user) -> str | None:
    """Why `user` may not make a new credential now, or None."""
    found = standing(user)
    if found is None or not found.overdue:
        return None
    return (
        "This portal requires a second factor (an authenticator app, or a security key or "
        "passkey) before you create or rotate a token. Add one under Profile → Security → "
        "Two-factor authentication, then try again. Your existing tokens keep working."
    )


def banner(request) -> dict[str, object]:
    """Context processor: `mfa_standing` for the banner, computed only where a page shows it."""
    from django.utils.functional import SimpleLazyObject

    def find() -> Standing | None:
        return standing(getattr(request, "user", None))

    if settings.MFA_REQUIRED == "none":
        return {}
    return {"mfa_standing": SimpleLazyObject(find)}

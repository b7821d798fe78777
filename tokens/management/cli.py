"""What the token commands share beyond common.cli: people by name."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import User


def person_named(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user is named {username!r}.")
    return user

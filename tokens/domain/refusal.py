"""The refusals of the token rules: each names its rule (a code) and, for a form, its field."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def refuse(field: str | None, message: str, code: str) -> ValidationError:
    """A refusal that names its rule; `field` lets a form show it beside the field it concerns."""
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error

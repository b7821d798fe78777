"""Rotating a SCIM client's secret, confirmed as the page showed it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from scim.models import ScimClient
from trustedapps.models import SecretRotatedMeanwhile

OUT_OF_DATE = "That page was out of date, so the secret was not rotated. Open it again."


class RotateClientSecretForm(forms.Form):
    # When the page saw the secret last rotated: a second click (or admin) rotates nothing.
    seen_rotated_at = forms.DateTimeField(
        widget=forms.HiddenInput, required=False, error_messages={"invalid": OUT_OF_DATE}
    )

    def __init__(self, data: Any = None, *, client: ScimClient) -> None:
        seen = client.secret_rotated_at.isoformat() if client.secret_rotated_at else ""
        super().__init__(data, initial={"seen_rotated_at": seen})
        self.client = client

    @method_decorator(sensitive_variables("secret"))
    def save(self) -> str | None:
        """The new secret, or None (the reason on the form) if someone rotated it since."""
        try:
            secret = self.client.rotate_secret(seen_rotated_at=self.cleaned_data["seen_rotated_at"])
        except SecretRotatedMeanwhile:
            self.add_error(
                None,
                f"The secret of {self.client.name} was just rotated by someone else, after you "
                "opened this page; the new secret was shown to them. Nothing was changed.",
            )
            return None
        return secret

    @property
    def refusal(self) -> str:
        errors = self.non_field_errors() or self.errors.get("seen_rotated_at") or [OUT_OF_DATE]
        return " ".join(str(error) for error in errors)

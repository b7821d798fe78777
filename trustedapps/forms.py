"""Admin forms of resource servers: their page, and rotating their secret."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from trustedapps.models import ResourceServer, SecretHolder, SecretRotatedMeanwhile

OUT_OF_DATE = "That page was out of date, so the secret was not rotated. Open it again."


class RotateSecretForm(forms.Form):
    """Confirms rotating a secret (a resource server's, a SCIM client's) as the page showed it:
    when it was last rotated. `name` says whose secret it is in the refusal."""

    # ISO 8601 with microseconds, so that two rotations never read alike.
    seen_rotated_at = forms.DateTimeField(
        widget=forms.HiddenInput, required=False, error_messages={"invalid": OUT_OF_DATE}
    )

    def __init__(self, data: Any = None, *, holder: SecretHolder, name: str) -> None:
        seen = holder.secret_rotated_at.isoformat() if holder.secret_rotated_at else ""
        super().__init__(data, initial={"seen_rotated_at": seen})
        self.holder = holder
        self.name = name

    @method_decorator(sensitive_variables("secret"))
    def save(self) -> str | None:
        """The new secret, or None (with the reason on the form) if someone rotated it since."""
        try:
            secret = self.holder.rotate_secret(seen_rotated_at=self.cleaned_data["seen_rotated_at"])
        except SecretRotatedMeanwhile as meanwhile:
            when = f"{meanwhile.rotated_at:%Y-%m-%d %H:%M:%S} UTC" if meanwhile.rotated_at else ""
            self.add_error(
                None,
                f"The secret of {self.name} was just rotated ({when}) by someone "
                "else, after you opened this page; the new secret was shown to them. Nothing "
                "was changed. Rotate again only if that secret is lost too.",
            )
            return None
        return secret

    @property
    def refusal(self) -> str:
        errors = self.non_field_errors() or self.errors.get("seen_rotated_at") or [OUT_OF_DATE]
        return " ".join(str(error) for error in errors)


class ResourceUrisField(forms.Field):
    """A list of URLs, typed one per line; the model validates each (validate_resource_uri)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: object) -> object:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: object) -> list[str]:
        if isinstance(value, list):
            return value
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]


class ResourceServerForm(forms.ModelForm):
    resource_uris = ResourceUrisField(
        label="Resource URIs",
        required=False,
        help_text="One per line: the absolute https:// URLs of the APIs this server serves "
        "(RFC 8707; plain http only for localhost). Answered in `aud`, where libraries such as "
        "django-oauth-toolkit match them against the request URL.",
    )

    class Meta:
        model = ResourceServer
        fields = ["client_id", "name", "scopes", "resource_uris", "is_enabled"]

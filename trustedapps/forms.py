"""Admin forms of resource servers."""

from __future__ import annotations

from django import forms

from trustedapps.models import ResourceServer


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

"""Admin forms of the trusted applications (issuing a service access token) and resource servers."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError

from tokens.forms import (
    RowMultipleChoiceField,
    default_expiry_day,
    expiry_day_error,
    first_expiry_day,
    last_expiry_day,
    start_of_day_utc,
)
from tokens.models import DESCRIPTION_MAX_LENGTH
from trustedapps.models import ResourceServer, Scope, TrustedApplication


class CreateServiceTokenForm(forms.Form):
    """Description, expiry date (UTC) and scopes of a new SAT; the model enforces the rules."""

    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text="What the token is for, e.g. 'nightly export job'.",
    )
    expires_on = forms.DateField(
        label="Expires on (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at 00:00 UTC of this day, as personal tokens do.",
    )
    scopes = RowMultipleChoiceField(
        queryset=Scope.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: all of the application's scopes.",
    )
    # One-time key (common.once): sending the form again issues no second token.
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, application: TrustedApplication, **kwargs) -> None:
        self.application = application
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("expires_on", default_expiry_day(application))
        super().__init__(*args, **kwargs)
        self.fields["scopes"].queryset = application.allowed_scopes.all()
        self.fields["expires_on"].widget.attrs.update(
            min=first_expiry_day().isoformat(), max=last_expiry_day(application).isoformat()
        )

    def clean_expires_on(self) -> date:
        expires_on = self.cleaned_data["expires_on"]
        error = expiry_day_error(self.application, expires_on)
        if error:
            raise ValidationError(error)
        return expires_on

    @property
    def expires_at(self) -> datetime:
        return start_of_day_utc(self.cleaned_data["expires_on"])

    def add_model_error(self, error: ValidationError) -> None:
        """Show a refusal of the model beside the field it concerns, or above the form."""
        fields = {"expires_at": "expires_on", "scopes": "scopes", "description": "description"}
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            self.add_error(fields.get(field), errors)


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

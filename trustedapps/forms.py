"""Admin forms of the trusted applications: issuing a service access token."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from tokens.models import DESCRIPTION_MAX_LENGTH
from trustedapps.models import Scope, TrustedApplication

DEFAULT_LIFETIME_DAYS = 30


class CreateServiceTokenForm(forms.Form):
    """Description, expiry date (UTC) and scopes of a new SAT; the model enforces the rules."""

    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text="What the token is for, e.g. 'nightly export job'.",
    )
    expires_on = forms.DateField(
        label="Expires on (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the end of this day (UTC), "
        "or at the application's longest lifetime if that comes first.",
    )
    scopes = forms.ModelMultipleChoiceField(
        queryset=Scope.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: all of the application's scopes.",
    )

    def __init__(self, *args, application: TrustedApplication, **kwargs) -> None:
        self.application = application
        self.now = timezone.now()
        today = self.now.astimezone(UTC).date()
        self.latest = today + application.max_token_lifetime
        default = today + min(timedelta(days=DEFAULT_LIFETIME_DAYS), application.max_token_lifetime)
        kwargs.setdefault("initial", {"expires_on": default})
        super().__init__(*args, **kwargs)
        self.fields["scopes"].queryset = application.allowed_scopes.all()
        self.fields["expires_on"].widget.attrs.update(
            min=(today + timedelta(days=1)).isoformat(), max=self.latest.isoformat()
        )

    def clean_expires_on(self) -> date:
        expires_on = self.cleaned_data["expires_on"]
        today = self.now.astimezone(UTC).date()
        if expires_on <= today:
            raise ValidationError("Choose a day after today.", code="expiry_in_past")
        if expires_on > self.latest:
            raise ValidationError(
                f"{self.application.name} allows tokens of at most "
                f"{self.application.max_token_lifetime.days} days: {self.latest} at the latest.",
                code="expiry_too_far",
            )
        return expires_on

    @property
    def expires_at(self) -> datetime:
        # The end of the chosen UTC day, capped so that the last allowed day is still accepted.
        end_of_day = datetime.combine(
            self.cleaned_data["expires_on"] + timedelta(days=1), time.min, tzinfo=UTC
        )
        return min(end_of_day, self.now + self.application.max_token_lifetime)

    def add_model_error(self, error: ValidationError) -> None:
        """Show a refusal of the model beside the field it concerns, or above the form."""
        fields = {"expires_at": "expires_on", "scopes": "scopes", "description": "description"}
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            self.add_error(fields.get(field), errors)

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from common.ids import is_row_id
from tokens.models import DESCRIPTION_MAX_LENGTH
from trustedapps.models import DEFAULT_TOKEN_LIFETIME, Scope, TrustedApplication


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def first_expiry_day() -> date:
    return today_utc() + timedelta(days=1)


def last_expiry_day(application: TrustedApplication) -> date:
    # The token stops at 00:00 UTC of the chosen day, so today + N days is never later than
    # now + N days: the model's own limit (expires_at <= now + longest lifetime) always agrees.
    return today_utc() + timedelta(days=application.max_token_lifetime.days)


def default_expiry_day(application: TrustedApplication | None) -> date:
    lifetime = application.default_token_lifetime if application else DEFAULT_TOKEN_LIFETIME
    return today_utc() + timedelta(days=lifetime.days)


def expiry_day_error(application: TrustedApplication | None, day: date) -> str | None:
    """Why `day` cannot be a token's expiry date, or None: the same limits as the model's."""
    if day < first_expiry_day():
        return "Choose a date from tomorrow on."
    if application is not None and day > last_expiry_day(application):
        return (
            f"{application.name} allows tokens of at most "
            f"{application.max_token_lifetime.days} days: choose "
            f"{last_expiry_day(application):%-d %b %Y} or earlier."
        )
    return None


def start_of_day_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class RowChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if value not in self.empty_values and not is_row_id(value):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class RowMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        for pk in value:
            if not is_row_id(pk):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


# Lifetimes offered as one click, as the token pages people know do; longer ones than the
# application allows are not offered. "custom" means the date field.
EXPIRY_PRESETS = (7, 30, 60, 90)
CUSTOM = "custom"


def expiry_presets(application: TrustedApplication | None) -> list[int]:
    longest = application.max_token_lifetime.days if application else EXPIRY_PRESETS[-1]
    return [days for days in EXPIRY_PRESETS if days <= longest]


def preset_for(application: TrustedApplication | None, day: date | None) -> str:
    """The preset whose date is `day`, or "custom"."""
    if day is None:
        return CUSTOM
    days = (day - today_utc()).days
    return str(days) if days in expiry_presets(application) else CUSTOM


def clamped_expiry(
    application: TrustedApplication, raw_day: str | None, raw_preset: str | None
) -> tuple[str, str, str]:
    """(date, preset, note) once `application` is chosen: a lifetime it does not allow is
    brought within its limit before the form is sent, and the note says so. A date, when one
    is given, wins over a preset (without JavaScript nobody unticks the preset)."""
    day = _parse_day(raw_day)
    preset = CUSTOM if day or not raw_preset else raw_preset
    allowed = expiry_presets(application)
    limit = last_expiry_day(application)
    why = f"{application.name} allows tokens of at most {application.max_token_lifetime.days} days"
    if preset != CUSTOM:
        if preset.isdigit() and int(preset) in allowed:
            return "", preset, ""
        if allowed:
            return "", str(allowed[-1]), f"{why}: the expiration is now {allowed[-1]} days."
        return limit.isoformat(), CUSTOM, f"{why}: the expiration is now {limit:%-d %b %Y}."
    if day is not None and day > limit:
        return limit.isoformat(), CUSTOM, f"{why}: the expiration date moved to {limit:%-d %b %Y}."
    return raw_day or "", CUSTOM, ""


def _in_days(days: int) -> str:
    return (today_utc() + timedelta(days=days)).isoformat()


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


class CreateTokenForm(forms.Form):
    """Field names match the keys of the model's ValidationError, so refusals land beside them."""

    application = RowChoiceField(
        queryset=TrustedApplication.objects.none(),
        empty_label=None,
        error_messages={
            "required": "Choose an application.",
            "invalid_choice": "You cannot create tokens for that application.",
        },
    )
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        error_messages={"required": "Say what this token is for, so you can recognise it later."},
    )
    # A preset ("7", "30", ...) sets the date; "custom" (or none, as scripts send) uses it.
    expires_in = forms.CharField(required=False)
    expires_at = forms.DateField(
        label="Expiration",
        required=False,
        error_messages={"invalid": "Enter a date, such as 2027-01-31."},
    )
    # Validated against every scope so that a scope of another application gets the model's own
    # refusal ("Sync does not allow the scope(s): admin") rather than a generic one. Least
    # privilege: the browser never grants all of an application's scopes by default.
    scopes = RowMultipleChoiceField(
        queryset=Scope.objects.all(),
        error_messages={"required": "Choose at least one scope."},
    )
    # One-time nonce: a resubmitted form (reload, back button, double click) creates no token.
    # A missing or unknown nonce is the view's to handle (as a form already used), not an error
    # on a field nobody can see.
    nonce = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = TrustedApplication.objects.issuable_by(user)

    def clean(self) -> dict:
        cleaned = super().clean()
        application: TrustedApplication | None = cleaned.get("application")
        day: date | None = cleaned.get("expires_at")
        preset = cleaned.get("expires_in") or CUSTOM
        if day is None and "expires_at" not in self.errors:
            if preset == CUSTOM:
                self.add_error("expires_at", "Choose an expiration date.")
                return cleaned
            if not preset.isdigit() or int(preset) not in expiry_presets(application):
                self.add_error("expires_at", "Choose one of the lifetimes offered, or a date.")
                return cleaned
            day = cleaned["expires_at"] = today_utc() + timedelta(days=int(preset))
        if day is None:
            return cleaned
        error = expiry_day_error(application, day)
        if error:
            self.add_error("expires_at", error)
        return cleaned

    @property
    def expires_at_utc(self) -> datetime:
        return start_of_day_utc(self.cleaned_data["expires_at"])


class CreateServiceTokenForm(forms.Form):
    """Description, expiry date (UTC) and scopes of a new SAT; the model enforces the rules."""

    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text="What the token is for, e.g. 'nightly export job'.",
        error_messages={"required": "Say what this token is for, so you can recognise it later."},
    )
    expires_on = forms.DateField(
        label="Expires on (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at 00:00 UTC of this day, as personal tokens do.",
        error_messages={
            "required": "Choose an expiration date.",
            "invalid": "Enter a date, such as 2027-01-31.",
        },
    )
    # Least privilege, as on the profile: at least one scope, never all of them by default.
    scopes = RowMultipleChoiceField(
        queryset=Scope.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose only what the token needs: at least one scope.",
        error_messages={"required": "Choose at least one scope."},
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

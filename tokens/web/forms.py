"""The forms that issue tokens: one base for personal (profile) and service (admin) tokens."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from common.http import remote_address
from common.ids import is_row_id
from common.once import ALREADY_USED, STALE, FormKeyUsed, form_key_of, new_form_key, used_once
from tokens.domain import lifecycle
from tokens.domain.expiry import (
    CUSTOM,
    default_expiry_day,
    expiry_day_error,
    expiry_presets,
    first_expiry_day,
    last_expiry_day,
    preset_for,
    start_of_day_utc,
    today_utc,
)
from tokens.domain.lifecycle import IssuedToken
from tokens.models import DESCRIPTION_MAX_LENGTH
from trustedapps.models import Scope, TrustedApplication


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
        return super()._check_values(value)  # type: ignore[misc]  # a hook the stubs omit


class IssueTokenForm(forms.Form):
    """Description, expiry date (UTC) and scopes of a new token, and the form's one-time key.

    Field names match the keys of the issuing rules' refusals (tokens.domain), so `save()` puts
    each beside its field.
    A subclass says for which application (`chosen_application`) and how to issue (`issue`).
    """

    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        help_text="What the token is for, e.g. 'nightly export job'.",
        error_messages={"required": "Say what this token is for, so you can recognise it later."},
    )
    expires_at = forms.DateField(
        label="Expiration",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at 00:00 UTC of this day.",
        error_messages={
            "required": "Choose an expiration date.",
            "invalid": "Enter a date, such as 2027-01-31.",
        },
    )
    # Least privilege: at least one scope, never all of an application's by default. Validated
    # against every scope so that one of another application gets the issuing rule's refusal.
    scopes = RowMultipleChoiceField(
        queryset=Scope.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose only what the token needs: at least one scope.",
        error_messages={"required": "Choose at least one scope."},
    )
    # Issue 23: the networks it may be used from (tokens.domain.ranges checks them on issuing).
    allowed_ranges = forms.CharField(
        label="Address ranges",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only from these networks (CIDR, e.g. 203.0.113.0/24 or 2001:db8::/32), one "
        "per line. Empty: from anywhere.",
    )
    # One-time key (common.once): a form sent again (reload, back button, double click, two
    # tabs) issues no second token. Its errors mean "answer as a resubmission", not "fix a field".
    form_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, data: Any = None, *, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        if not isinstance(request.user, User):  # the views that issue require sign-in
            raise PermissionDenied
        self.request = request
        self.issuer: User = request.user
        if not self.is_bound:
            self.initial.setdefault("form_key", new_form_key(request))

    def chosen_application(self) -> TrustedApplication | None:
        raise NotImplementedError

    def issue(self, expires_at: datetime) -> IssuedToken:
        raise NotImplementedError

    def clean_form_key(self) -> str:
        key = form_key_of(self.request, self.cleaned_data["form_key"])
        if key is None:
            raise ValidationError(STALE, code="stale")
        return key

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        day: date | None = cleaned.get("expires_at")
        error = expiry_day_error(self.chosen_application(), day) if day is not None else None
        if error:
            self.add_error("expires_at", error)
        return cleaned

    @property
    def resubmission(self) -> str | None:
        """Why this post is answered as a resubmission (sent before, stale, of another
        session) rather than issued or shown with field errors; None when it is not one."""
        errors = self.errors.get("form_key") if self.is_bound else None
        return " ".join(str(error) for error in errors) if errors else None

    # Error reports (DEBUG pages, mails to ADMINS) show no local of this frame: one is the token.
    @method_decorator(sensitive_variables("issued"))
    def save(self) -> IssuedToken | None:
        """Issue the token once per form key; None, with the reason on the form, if refused."""
        try:
            with used_once(self.cleaned_data["form_key"]):
                issued = self.issue(start_of_day_utc(self.cleaned_data["expires_at"]))
        except FormKeyUsed:
            self.add_error("form_key", ValidationError(ALREADY_USED, code="used"))
            return None
        except ValidationError as refusal:
            self.add_refusal(refusal)
            return None
        return issued

    def add_refusal(self, refusal: ValidationError) -> None:
        """A refusal of the issuing rules beside the field it names, or above the form."""
        if not hasattr(refusal, "error_dict"):
            self.add_error(None, refusal)
            return
        for field, errors in refusal.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


def expiry_from_preset(form: IssueTokenForm) -> None:
    """The expiry date of a chosen preset (`expires_in`: "7", "30", ...), unless a date was
    given; "custom" or none means the date. Both consoles' forms (issue 20, defect 14)."""
    cleaned = form.cleaned_data
    if cleaned.get("expires_at") is None and "expires_at" not in form.errors:
        preset = cleaned.get("expires_in") or CUSTOM
        if preset == CUSTOM:
            form.add_error("expires_at", "Choose an expiration date.")
        elif not preset.isdigit() or int(preset) not in expiry_presets(form.chosen_application()):
            form.add_error("expires_at", "Choose one of the lifetimes offered, or a date.")
        else:
            cleaned["expires_at"] = today_utc() + timedelta(days=int(preset))


class PersonalTokenForm(IssueTokenForm):
    """A personal access token of the signed-in person, for an application that allows it.

    In the browser the lifetime may be a preset (`expires_in`: "7", "30", ...; "custom" or none
    means the date), and at least one scope is chosen: least privilege, never all by default.
    """

    application = RowChoiceField(
        queryset=TrustedApplication.objects.none(),
        empty_label=None,
        error_messages={
            "required": "Choose an application.",
            "invalid_choice": "You cannot create tokens for that application.",
        },
    )
    expires_in = forms.CharField(required=False)
    field_order = ["application", "description", "expires_in", "expires_at", "scopes", "form_key"]

    def __init__(self, data: Any = None, *, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(data, request=request, **kwargs)
        application = cast(forms.ModelChoiceField, self.fields["application"])
        application.queryset = TrustedApplication.objects.issuable_by(self.issuer)
        self.fields["expires_at"].required = False

    def chosen_application(self) -> TrustedApplication | None:
        return self.cleaned_data.get("application")

    def clean(self) -> dict[str, Any]:
        expiry_from_preset(self)
        return super().clean()

    def issue(self, expires_at: datetime) -> IssuedToken:
        return lifecycle.issue_personal(
            user=self.issuer,
            application=self.cleaned_data["application"],
            expires_at=expires_at,
            scopes=self.cleaned_data["scopes"],
            description=self.cleaned_data["description"],
            ip=remote_address(self.request),
            allowed_ranges=self.cleaned_data.get("allowed_ranges") or "",
        )


class ServiceTokenForm(IssueTokenForm):
    """A service access token of `application`, acting as its system user; an admin issues it."""

    expires_in = forms.CharField(required=False)  # a preset, as on the profile's form

    def __init__(
        self,
        data: Any = None,
        *,
        request: HttpRequest,
        application: TrustedApplication,
        **kwargs: Any,
    ) -> None:
        self.application = application
        # The default lifetime as a preset when it is one, else as a date (the profile's way).
        initial = kwargs.setdefault("initial", {})
        preset = preset_for(application, default_expiry_day(application))
        initial.setdefault("expires_in", preset)
        if preset == CUSTOM:
            initial.setdefault("expires_at", default_expiry_day(application))
        super().__init__(data, request=request, **kwargs)
        self.fields["expires_at"].required = False
        self.fields["expires_at"].label = "Expires on (UTC)"
        # As on the profile's form: the application's longest lifetime, said up front.
        self.fields["expires_at"].help_text += (
            f" {application.name} allows at most {application.max_token_lifetime.days} days"
            f" (until {last_expiry_day(application):%-d %b %Y})."
        )
        self.fields["expires_at"].widget.attrs.update(
            min=first_expiry_day().isoformat(), max=last_expiry_day(application).isoformat()
        )
        scopes = cast(forms.ModelMultipleChoiceField, self.fields["scopes"])
        scopes.queryset = application.allowed_scopes.all()
        # Each scope with what it allows, as the profile's form shows it.
        scopes.label_from_instance = lambda scope: (  # type: ignore[method-assign,assignment]
            f"{scope.name} — {scope.description}" if scope.description else scope.name
        )

    def chosen_application(self) -> TrustedApplication:
        return self.application

    def clean(self) -> dict[str, Any]:
        expiry_from_preset(self)
        return super().clean()

    def issue(self, expires_at: datetime) -> IssuedToken:
        return lifecycle.issue_service(
            admin=self.issuer,
            application=self.application,
            expires_at=expires_at,
            scopes=self.cleaned_data["scopes"],
            description=self.cleaned_data["description"],
            ip=remote_address(self.request),
            allowed_ranges=self.cleaned_data.get("allowed_ranges") or "",
        )

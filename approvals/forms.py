from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from approvals.models import REASON_MAX_LENGTH
from common.once import form_key_of, new_form_key
from trustedapps.models import Scope, TrustedApplication

STALE_REQUEST = (
    "That form has expired or belongs to another sign-in, so nothing was requested. "
    "Open the form again."
)
ALREADY_REQUESTED = "That form was already sent: your request is below, once."


class TokenRequestForm(forms.Form):
    application = forms.ModelChoiceField(queryset=TrustedApplication.objects.none())
    scopes = forms.ModelMultipleChoiceField(
        queryset=Scope.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    lifetime_days = forms.IntegerField(label="Lifetime (days)", min_value=1)
    description = forms.CharField(max_length=100, required=False)
    reason = forms.CharField(
        label="Why you need it",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # One-time key (common.once): a form sent twice (double click, reload, two tabs at once)
    # makes one request, as the token forms issue one token.
    form_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        if not self.is_bound:
            self.initial.setdefault("form_key", new_form_key(request))
        applications = TrustedApplication.objects.requestable_by(user)
        self.fields["application"].queryset = applications  # type: ignore[attr-defined]
        self.fields["scopes"].queryset = Scope.objects.filter(  # type: ignore[attr-defined]
            applications__in=applications
        ).distinct()

    def clean_form_key(self) -> str:
        key = form_key_of(self.request, self.cleaned_data["form_key"])
        if key is None:
            raise ValidationError(STALE_REQUEST, code="stale")
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        application = data.get("application")
        if application is None:
            return data
        scopes = data.get("scopes")
        if scopes is not None:
            allowed = set(application.allowed_scopes.values_list("pk", flat=True))
            foreign = sorted(scope.name for scope in scopes if scope.pk not in allowed)
            if foreign:
                self.add_error(
                    "scopes",
                    f"{application.name} does not allow the scope(s): {', '.join(foreign)}.",
                )
        days = data.get("lifetime_days")
        longest = application.max_token_lifetime.days
        if days is not None and days > longest:
            self.add_error(
                "lifetime_days", f"{application.name} allows tokens of at most {longest} days."
            )
        return data

from __future__ import annotations

from typing import Any

from django import forms

from approvals.models import REASON_MAX_LENGTH
from trustedapps.models import Scope, TrustedApplication


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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        applications = TrustedApplication.objects.requestable_by(user)
        self.fields["application"].queryset = applications  # type: ignore[attr-defined]
        self.fields["scopes"].queryset = Scope.objects.filter(  # type: ignore[attr-defined]
            applications__in=applications
        ).distinct()

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

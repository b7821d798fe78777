"""Admin forms of the trusted applications: issuing a service access token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest

from common.http import remote_address
from tokens.forms import IssueTokenForm, default_expiry_day, first_expiry_day, last_expiry_day
from tokens.models import IssuedToken, ReferenceToken
from trustedapps.models import TrustedApplication


class ServiceTokenForm(IssueTokenForm):
    """A service access token of `application`, acting as its system user; the admin issues it."""

    def __init__(
        self,
        data: Any = None,
        *,
        request: HttpRequest,
        application: TrustedApplication,
        **kwargs: Any,
    ) -> None:
        self.application = application
        kwargs.setdefault("initial", {}).setdefault("expires_at", default_expiry_day(application))
        super().__init__(data, request=request, **kwargs)
        self.fields["expires_at"].label = "Expires on (UTC)"
        self.fields["expires_at"].help_text += " Personal tokens follow the same rule."
        self.fields["expires_at"].widget.attrs.update(
            min=first_expiry_day().isoformat(), max=last_expiry_day(application).isoformat()
        )
        self.fields["scopes"].queryset = application.allowed_scopes.all()

    def chosen_application(self) -> TrustedApplication:
        return self.application

    def issue(self, expires_at: datetime) -> IssuedToken:
        return ReferenceToken.objects.issue_service(
            admin=self.issuer,
            application=self.application,
            expires_at=expires_at,
            scopes=self.cleaned_data["scopes"],
            description=self.cleaned_data["description"],
            ip=remote_address(self.request),
        )

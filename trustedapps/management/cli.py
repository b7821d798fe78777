"""What the commands about trusted applications and scopes share: names into objects."""

from __future__ import annotations

from django.core.management.base import CommandError

from common.cli import scope_names
from trustedapps.models import Scope, TrustedApplication


def scopes_named(value: str | None) -> list[Scope]:
    names = scope_names(value)
    found = {scope.name: scope for scope in Scope.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in found]
    if unknown:
        known = ", ".join(Scope.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {known}.")
    return [found[name] for name in names]


def application_with_uri(uri: str) -> TrustedApplication:
    application = TrustedApplication.objects.filter(application_uri=uri).first()
    if application is None:
        raise CommandError(f"No trusted application has the URI {uri!r}.")
    return application

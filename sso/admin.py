"""Single sign-on in the admin (issue 22): the configured identity providers (never a secret)
above the list of people's links to them, and each person's links on their page.

Providers come from OIDC_PROVIDERS, not from the database, so allauth's own "social
applications" admin is hidden, and so are its stored provider tokens (SOCIALACCOUNT_STORE_TOKENS
is off: there are none). This app comes after allauth.socialaccount and scim in INSTALLED_APPS,
so its admin loads last: it replaces allauth's link admin, and extends the person's page as
registered by then (accounts', extended by tokens' and scim's).
"""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.models import User
from accounts.sso import provider_names

for model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


def configured_providers(request: HttpRequest) -> list[dict[str, Any]]:
    """What an operator needs to check a provider's setup: never its secret."""
    usage = {
        row["provider"]: row
        for row in SocialAccount.objects.values("provider").annotate(
            links=Count("pk"), last_sign_in=Max("last_login")
        )
    }
    return [
        {
            "id": provider["id"],
            "name": provider["name"],
            "issuer": provider["server_url"],
            "client_id": provider["client_id"],
            "redirect_uri": request.build_absolute_uri(
                reverse("openid_connect_callback", kwargs={"provider_id": provider["id"]})
            ),
            "links": usage.get(provider["id"], {}).get("links", 0),
            "last_sign_in": usage.get(provider["id"], {}).get("last_sign_in"),
        }
        for provider in settings.OIDC_PROVIDERS
    ]


@admin.register(SocialAccount)
class IdentityLinkAdmin(admin.ModelAdmin):
    """People's links to identity providers: looked at, and removed (the person then signs in
    with a password, or links again); never made or edited here."""

    list_display = ["user", "provider_name", "uid", "date_joined", "last_login"]
    list_filter = ["provider"]
    search_fields = ["user__username", "user__email", "uid"]
    list_select_related = ["user"]
    fields = ["user", "provider_name", "uid", "date_joined", "last_login"]
    readonly_fields = ["user", "provider_name", "uid", "date_joined", "last_login"]
    change_list_template = "admin/socialaccount/socialaccount/change_list.html"

    @admin.display(description="identity provider", ordering="provider")
    def provider_name(self, link: SocialAccount) -> str:
        return provider_names().get(link.provider, f"{link.provider} (no longer configured)")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {
            **(extra_context or {}),
            "providers": configured_providers(request),
            "sso_only": settings.SSO_ONLY,
        }
        return super().changelist_view(request, extra_context)


_PersonAdmin = type(admin.site.get_model_admin(User))


class PersonWithLinksAdmin(_PersonAdmin):  # type: ignore[valid-type,misc]
    readonly_fields = [*_PersonAdmin.readonly_fields, "identity_links"]
    fieldsets = [
        *(_PersonAdmin.fieldsets or []),
        ("Single sign-on", {"fields": ["identity_links"]}),
    ]

    @admin.display(description="identity providers")
    def identity_links(self, user: User) -> str:
        if user.pk is None:
            return "—"
        links = list(SocialAccount.objects.filter(user=user).order_by("date_joined"))
        if not links:
            return "Not linked to any identity provider."
        names = provider_names()
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    names.get(link.provider, f"{link.provider} (no longer configured)"),
                    link.uid,
                    f"{link.date_joined:%Y-%m-%d %H:%M}",
                    f"{link.last_login:%Y-%m-%d %H:%M}",
                )
                for link in links
            ),
        )
        return format_html(
            '<table class="identity-links"><thead><tr><th scope="col">provider</th>'
            '<th scope="col">subject (sub)</th><th scope="col">linked (UTC)</th>'
            '<th scope="col">last sign-in (UTC)</th></tr></thead><tbody>{}</tbody></table>',
            rows,
        )


admin.site.unregister(User)
admin.site.register(User, PersonWithLinksAdmin)

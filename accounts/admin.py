"""People and system users. System users never sign in, so they never get a password.

Their tokens (a summary, warnings, "Revoke all tokens") are added by tokens.admin, which
extends UserAdmin: this app knows nothing of tokens.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.models import User


class UserKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("people", "People"), ("system", "System users")]

    def queryset(self, request, queryset):
        if self.value() == "people":
            return queryset.people()
        if self.value() == "system":
            return queryset.system_users()
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "kind_badge", "email", "is_staff", "is_active", "last_login"]
    list_filter = [UserKindFilter, "is_staff", "is_superuser", "is_active", "groups"]
    search_fields = [
        "username",
        "first_name",
        "last_name",
        "email",
        "system_application__application_uri",
    ]
    list_select_related = ["system_application"]
    readonly_fields = ["system_application"]
    system_user_fieldsets = [
        (None, {"fields": ["username", "system_application"]}),
        (
            "Status",
            {
                "fields": ["is_active"],
                "description": "A system user acts for its trusted application's service "
                "tokens. It has no password and cannot sign in.",
            },
        ),
        ("Important dates", {"fields": ["date_joined"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_system_user:
            return self.system_user_fieldsets
        return super().get_fieldsets(request, obj)

    @admin.display(description="kind", ordering="system_application")
    def kind_badge(self, user: User) -> str:
        if user.is_system_user:
            return format_html(
                '<span class="badge badge-system" title="System user of {}" style="{}">'
                "System user</span>",
                user.system_application,
                "background:#6c5ce7;color:#fff;border-radius:3px;padding:1px 6px;",
            )
        return mark_safe('<span class="badge badge-person">Person</span>')

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, id)
        if user is not None and user.is_system_user:
            # A system user must never be able to sign in, so it never gets a password.
            raise PermissionDenied("System users cannot have a password.")
        return super().user_change_password(request, id, form_url)

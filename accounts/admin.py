"""People and system users. System users never sign in, so they never get a password."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from accounts.models import User
from tokens.admin import may_revoke, revoke_action
from tokens.models import ReferenceToken


def _unexpired_token_count(user: User) -> int:
    """Tokens that still count (neither revoked nor expired), whether or not the user is active."""
    return ReferenceToken.objects.filter(user=user).unexpired().count()


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
    class Media:
        # The portal's admin styles (static/css/admin.css): no style attributes, for the CSP.
        css = {"all": ["css/admin.css"]}

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
    readonly_fields = ["system_application", "token_summary"]
    actions = ["revoke_all_tokens"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Tokens", {"fields": ["token_summary"]}),
    ]
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
        ("Tokens", {"fields": ["token_summary"]}),
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
                '<span class="badge badge-system" title="System user of {}">System user</span>',
                user.system_application,
            )
        return mark_safe('<span class="badge badge-person">Person</span>')

    @admin.display(description="tokens")
    def token_summary(self, user: User) -> str:
        if user.pk is None:
            return "—"
        total = ReferenceToken.objects.filter(user=user).count()
        live = _unexpired_token_count(user)
        url = reverse("admin:tokens_referencetoken_changelist") + f"?user__id__exact={user.pk}"
        note = ""
        if not user.is_active and live:
            note = (
                " The user is inactive: these tokens stay in place but none of them validates "
                "until the user is active again (revoke them to end them for good)."
            )
        return format_html(
            '<a href="{}">{} token(s)</a>, {} neither revoked nor expired.{}',
            url,
            total,
            live,
            note,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            user = self.get_object(request, object_id)
            if user is not None and not user.is_active:
                live = _unexpired_token_count(user)
                if live:
                    self.message_user(
                        request,
                        f"{user} is inactive: their {live} unexpired token(s) stay in place "
                        "but do not validate while the user is inactive.",
                        messages.WARNING,
                    )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            live = _unexpired_token_count(obj)
            if live:
                self.message_user(
                    request,
                    f"{obj} is now inactive: their {live} unexpired token(s) stay in place but "
                    "stop validating at once; they work again if the user is reactivated.",
                    messages.WARNING,
                )

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, id)
        if user is not None and user.is_system_user:
            # A system user must never be able to sign in, so it never gets a password.
            raise PermissionDenied("System users cannot have a password.")
        return super().user_change_password(request, id, form_url)

    def has_revoke_tokens_permission(self, request) -> bool:
        return may_revoke(request)

    @admin.action(
        description="Revoke all tokens of the selected users", permissions=["revoke_tokens"]
    )
    def revoke_all_tokens(self, request: HttpRequest, queryset: QuerySet[User]):
        return revoke_action(
            self,
            request,
            ReferenceToken.objects.filter(user__in=queryset),
            action="revoke_all_tokens",
            title="Revoke all tokens of the selected users?",
            subjects=list(queryset[:20]),
        )

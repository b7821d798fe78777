"""The tokens of users in their admin: a summary, warnings when an inactive user still has
tokens, and "Revoke tokens…" for the selected users.

The accounts app knows nothing of tokens (dependencies point one way), so this module extends
its UserAdmin and registers the extension in its place.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin
from accounts.models import User
from tokens.admin import may_revoke, revoke_tokens
from tokens.models import ReferenceToken


class UserWithTokensAdmin(UserAdmin):
    readonly_fields = [*UserAdmin.readonly_fields, "token_summary"]
    actions = [revoke_tokens]
    fieldsets = [*UserAdmin.fieldsets, ("Tokens", {"fields": ["token_summary"]})]
    system_user_fieldsets = [
        *UserAdmin.system_user_fieldsets[:-1],
        ("Tokens", {"fields": ["token_summary"]}),
        UserAdmin.system_user_fieldsets[-1],
    ]

    @admin.display(description="tokens")
    def token_summary(self, user: User) -> str:
        if user.pk is None:
            return "—"
        total = ReferenceToken.objects.filter(user=user).count()
        live = ReferenceToken.objects.filter(user=user).unexpired().count()
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
                live = ReferenceToken.objects.filter(user=user).unexpired().count()
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
            live = ReferenceToken.objects.filter(user=obj).unexpired().count()
            if live:
                self.message_user(
                    request,
                    f"{obj} is now inactive: their {live} unexpired token(s) stay in place but "
                    "stop validating at once; they work again if the user is reactivated.",
                    messages.WARNING,
                )

    def has_revoke_permission(self, request) -> bool:
        return may_revoke(request)

    def tokens_to_revoke(self, queryset: QuerySet[User]) -> QuerySet[ReferenceToken]:
        return ReferenceToken.objects.filter(user__in=queryset)


admin.site.unregister(User)
admin.site.register(User, UserWithTokensAdmin)

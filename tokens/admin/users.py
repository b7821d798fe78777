"""The tokens of users in their admin: a summary, warnings when an inactive user still has
tokens, and "Revoke tokens…" for the selected users.

The accounts app knows nothing of tokens (dependencies point one way), so this module extends
its UserAdmin and registers the extension in its place.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin
from accounts.models import User
from tokens.admin.actions import (
    RevokeForm,
    count_of,
    may_revoke,
    render_revoke_confirmation,
    revoke_tokens,
    revoke_with_reason,
    rotatable,
)
from tokens.models import ReferenceToken

# A user's page lists their newest tokens near the top; the token list has them all.
TOKENS_ON_USER_PAGE = 10


admin.site.unregister(User)


@admin.register(User)
class UserWithTokensAdmin(UserAdmin):
    readonly_fields = [*UserAdmin.readonly_fields, "token_summary"]
    actions = [revoke_tokens]
    fieldsets = [*(UserAdmin.fieldsets or []), ("Tokens", {"fields": ["token_summary"]})]
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
        live = ReferenceToken.objects.filter(user=user).live().count()
        url = reverse("admin:tokens_referencetoken_changelist") + f"?user__id__exact={user.pk}"
        note = ""
        if not user.is_active and live:
            note = (
                " The user is inactive: these tokens stay in place but none of them validates "
                "until the user is active again (revoke them to end them for good)."
            )
        return format_html('<a href="{}">{}, {} current</a>.{}', url, count_of(total), live, note)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if user is not None:
            tokens = ReferenceToken.objects.filter(user=user).select_related("application")
            tokens = tokens.with_facts()
            user_tokens = list(tokens[:TOKENS_ON_USER_PAGE])
            live = ReferenceToken.objects.filter(user=user).live().exists()
            context.update(
                user_tokens=user_tokens,
                user_tokens_more=len(user_tokens) == TOKENS_ON_USER_PAGE,
                all_tokens_url=reverse("admin:tokens_referencetoken_changelist")
                + f"?user__id__exact={user.pk}",
                may_revoke=may_revoke(request),
                rotatable=rotatable(self, request, user_tokens),
                revoke_all_url=reverse("admin:accounts_user_revoke_tokens", args=[quote(user.pk)])
                if may_revoke(request) and live
                else "",
            )
        if request.method == "GET" and user is not None and not user.is_active:
            live_count = ReferenceToken.objects.filter(user=user).live().count()
            if live_count:
                self.message_user(
                    request,
                    f"{user} is inactive: their {live_count} unexpired token(s) stay in place "
                    "but do not validate while the user is inactive.",
                    messages.WARNING,
                )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/revoke-tokens/",
                self.admin_site.admin_view(self.revoke_all_view),
                name="accounts_user_revoke_tokens",
            ),
            *super().get_urls(),
        ]

    def revoke_all_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Incident response for one person: revoke all their tokens, after asking why."""
        if not may_revoke(request):
            raise PermissionDenied
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404("No such user.")
        change_url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        tokens = ReferenceToken.objects.filter(user=user)
        form = RevokeForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            revoke_with_reason(request, self, tokens, form.cleaned_data["reason"])
            return HttpResponseRedirect(change_url)
        return render_revoke_confirmation(
            request,
            self,
            title=f"Revoke all tokens of {user.username}?",
            tokens=tokens,
            form=form,
            hidden=[],
            subjects=[user],
        )

    def save_model(self, request, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            live = ReferenceToken.objects.filter(user=obj).live().count()
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

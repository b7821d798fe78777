"""The audit trail of every token: read-only for everyone, superusers included."""

from __future__ import annotations

from datetime import UTC

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html

from accounts.models import User
from common.admin import ReadOnlyAdmin
from common.ids import is_row_id
from tokens.admin.tokens import HINT
from tokens.models import TokenEvent, TokenKind


class ActorFilter(admin.SimpleListFilter):
    """The people who acted (owners revoking their own tokens, admins), or nobody (the token's
    holder at the revocation URL, or a command); a list of every user would not do."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        actors = User.objects.filter(
            pk__in=TokenEvent.objects.filter(actor__isnull=False).values("actor").distinct()
        ).order_by("username")
        return [("none", "Holder or command"), *((str(u.pk), u.username) for u in actors)]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(actor__isnull=True)
        if is_row_id(self.value()):
            return queryset.filter(actor_id=int(str(self.value())))
        return queryset


@admin.register(TokenEvent)
class TokenEventAdmin(ReadOnlyAdmin):
    """The audit trail: read-only for everyone, superusers included."""

    list_display = [
        "when",
        "action",
        "token_link",
        "token_kind",
        "application",
        "actor",
        "ip",
        "reason",
    ]
    list_filter = ["action", ActorFilter, ("token__application", admin.RelatedFieldListFilter)]
    search_fields = ["=token__hint", "actor__username"]
    search_help_text = "Token hint (…ABCD) or actor's username."
    list_select_related = ["token", "token__application", "actor"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ["at", "action", "token_link", "actor", "ip", "reason"]

    @admin.display(description="at", ordering="at")
    def when(self, event: TokenEvent) -> str:
        return format_html(
            '<span class="nowrap">{}</span>',
            date_format(event.at.astimezone(UTC), "DATETIME_FORMAT"),
        )

    @admin.display(description="reason")
    def reason(self, event: TokenEvent) -> str:
        # The detail, without the action the column beside it names already.
        summary = event.summary
        label = event.get_action_display()
        if summary.startswith(f"{label}: "):
            summary = summary[len(label) + 2 :]
        elif summary == label:
            summary = ""
        if event.leak_source:  # a leak report (issue 24): who reported it, and where
            return format_html(
                "{} (reported by {}{})",
                summary or event.detail,
                event.get_leak_source_display(),
                format_html(", seen at {}", event.leak_url) if event.leak_url else "",
            )
        return summary or "—"

    def get_search_results(self, request, queryset, search_term):
        hint = HINT.match(search_term.strip())
        if hint:
            return queryset.filter(token__hint=hint.group(1).upper()), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="token", ordering="token__hint")
    def token_link(self, event: TokenEvent) -> str:
        url = reverse("admin:tokens_referencetoken_change", args=[quote(event.token_id)])
        return format_html('<a href="{}">{}</a>', url, event.token.masked)

    @admin.display(description="kind")
    def token_kind(self, event: TokenEvent) -> str:
        return format_html(
            '<span class="nowrap">{}</span>',
            "Service" if event.token.kind == TokenKind.SERVICE else "Personal",
        )

    @admin.display(description="application")
    def application(self, event: TokenEvent) -> str:
        return str(event.token.application)

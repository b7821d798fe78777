"""Every token of the instance: read-only, revocable (and rotatable, service tokens), fast on big
tables."""

from __future__ import annotations

import re
from datetime import UTC
from typing import cast

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_variables

from accounts.http import signed_in
from accounts.models import User
from accounts.sudo import admin_confirmation_needed
from common.admin import ReadOnlyAdmin
from common.http import no_store, remote_address
from common.once import new_form_key
from tokens.admin.actions import (
    RevokeForm,
    log_revocations,
    may_revoke,
    render_revoke_confirmation,
    revoke_tokens,
)
from tokens.admin.site import RECENTLY, UNUSED_FOR
from tokens.domain import lifecycle
from tokens.domain.lifecycle import IssuedToken
from tokens.domain.lifetime_rules import would_refuse_ids
from tokens.format import display_hint, is_well_formed
from tokens.models import (
    EXPIRING_SOON,
    LEAKED,
    ReferenceToken,
    ReferenceTokenQuerySet,
    TokenKind,
    TokenStatus,
)
from tokens.web.rotation import rotate_posted
from trustedapps.models import TrustedApplication

# What an admin may paste to find a token by its hint: "ABCD", "…ABCD", "...ABCD", "enrt_…ABCD".
HINT = re.compile(r"^(?:enrt_)?(?:…|\.\.\.)?([0-9A-Fa-f]{4})$")


def _day(moment, empty: str = "—") -> str:
    # The portal's one date format ("28 Dec 2026", config/formats); the token's page has the time.
    return date_format(moment.astimezone(UTC), "DATE_FORMAT") if moment else empty


def safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class AtLeast(int):
    """A count that stopped at a cap: compares as a number, reads "more than N" on the page."""

    def __str__(self) -> str:
        return f"more than {int(self) - 1:,}"


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows, so a page of a million-row list never counts them all."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        # Without the ORDER BY, which would make the planner walk an index row by row.
        counted = cast(QuerySet, self.object_list).order_by()[: self.cap + 1].count()
        return AtLeast(counted) if counted > self.cap else counted


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return TokenStatus.choices

    def queryset(self, request, queryset):
        if self.value() in TokenStatus.values:
            return queryset.with_status(self.value())
        return queryset


class OneChoiceFilter(admin.SimpleListFilter):
    """A filter with a single choice, which narrows the list with one queryset method."""

    choice: str
    label: str

    def lookups(self, request, model_admin):
        return [(self.choice, self.label)]

    def queryset(self, request, queryset):
        return self.narrow(queryset) if self.value() == self.choice else queryset

    def narrow(self, queryset: ReferenceTokenQuerySet) -> ReferenceTokenQuerySet:
        raise NotImplementedError


class ExpiresSoonFilter(OneChoiceFilter):
    title, parameter_name, choice, label = "expiry", "expires", "7d", "Expires within 7 days"

    def narrow(self, queryset):
        return queryset.expiring_within(EXPIRING_SOON)


class UnusedFilter(OneChoiceFilter):
    title, parameter_name, choice, label = "use", "unused", "90d", "Unused for 90 days"

    def narrow(self, queryset):
        return queryset.unused_since(timezone.now() - UNUSED_FOR)


class RevokedRecentlyFilter(OneChoiceFilter):
    title, parameter_name, choice, label = "revoked", "revoked", "7d", "In the last 7 days"

    def narrow(self, queryset):
        return queryset.filter(revoked_at__gte=timezone.now() - RECENTLY)


class LeakedFilter(OneChoiceFilter):
    """Revoked because a scanner or a finder reported it (issue 24)."""

    title, parameter_name, choice, label = "leaked", "leaked", "yes", "Revoked as leaked"

    def narrow(self, queryset):
        # revoked_at too: the partial index of revoked tokens serves the list's order.
        return queryset.filter(revoked_at__isnull=False, revocation_reason=LEAKED)


class WouldRefuseFilter(OneChoiceFilter):
    """Live tokens a lifetime rule in report mode would suspend (issue 23): the dashboard's
    "would be blocked" figure links here."""

    title, parameter_name, choice = "lifetime rules", "would_refuse", "report"
    label = "Would be blocked if enforced"

    def narrow(self, queryset):
        return queryset.filter(pk__in=would_refuse_ids())


@admin.register(ReferenceToken)
class ReferenceTokenAdmin(ReadOnlyAdmin):
    """All tokens. Issued only by their flows, never edited or deleted here: revoked rows stay."""

    # What an admin scans first comes first, and the list fits 1280 px beside the admin's
    # sidebar: the token, what it is for, whom it acts as; scopes and times are on its page.
    list_display = [
        "masked",
        "description_or_dash",
        "user",
        "application_name",
        "status_label",
        "expires",
        "last_used",
    ]
    list_filter = [
        "kind",
        ("application", admin.RelatedFieldListFilter),
        StatusFilter,
        ExpiresSoonFilter,
        UnusedFilter,
        RevokedRecentlyFilter,
        LeakedFilter,
        WouldRefuseFilter,
    ]
    search_fields = ["=hint", "description", "user__username", "application__application_uri"]
    search_help_text = "Description, username, application URI or hint (…ABCD)."
    list_select_related = ["user", "application"]
    # The full count of a million-row table costs more than the page itself, and facet counts
    # would cost one such count per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    paginator = CappedCountPaginator
    actions = [revoke_tokens]
    fields = [
        "masked",
        "kind",
        "status_label",
        "user",
        "application",
        "created_by",
        "description",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "address_ranges",
        "last_refused",
        "owner_told",
        "revoked_at",
        "revoked_by",
        "revocation_reason",
        "rotated_from_link",
        "rotated_to_link",
        "events_link",
    ]

    def get_queryset(self, request):
        tokens = cast(ReferenceTokenQuerySet, super().get_queryset(request))
        return tokens.select_related("user", "application").with_facts()

    def get_ordering(self, request):
        # Soonest first where the filter is about expiry, which also lets the expiry index
        # serve both the filter and the order (walking the created_at index took seconds).
        if request.GET.get(ExpiresSoonFilter.parameter_name) == "7d":
            return ["expires_at", "id"]
        if request.GET.get(StatusFilter.parameter_name) == TokenStatus.EXPIRED:
            return ["-expires_at", "-id"]
        return super().get_ordering(request)

    def changelist_view(self, request, extra_context=None):
        term = request.GET.get("q", "").strip()
        if is_well_formed(term):
            # A whole token in a URL reaches access logs and browser history, and the page would
            # echo it in the search box: go on with its hint alone, which finds the same row.
            self.message_user(
                request,
                "Search by a token's last four characters, never the whole token: a search is "
                "part of the address, which servers log. To end a leaked token at once, revoke it.",
                messages.WARNING,
            )
            query = request.GET.copy()
            query["q"] = display_hint(term)
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        hint = HINT.match(term)
        if hint:
            return queryset.filter(hint=hint.group(1).upper()), False
        # Users and applications are matched in their own (small) tables first: joining them to
        # every token row for an OR of ILIKEs cost seconds on a million tokens.
        users = User.objects.filter(username__icontains=term).values("pk")
        apps = TrustedApplication.objects.filter(application_uri__icontains=term).values("pk")
        return queryset.filter(
            Q(description__icontains=term) | Q(user__in=users) | Q(application__in=apps)
        ), False

    def has_revoke_permission(self, request) -> bool:
        return may_revoke(request)

    def has_rotate_permission(self, request, obj: ReferenceToken | None = None) -> bool:
        """Service tokens only, by those who may issue them and may see the token.

        A personal token's plaintext is its owner's alone: the admin revokes it, never rotates
        it (tokens.domain.policy.rotation_refusal refuses anyone else as well).
        """
        if obj is not None and obj.kind != TokenKind.SERVICE:
            return False
        return signed_in(request).is_instance_admin and self.has_view_permission(request, obj)

    @admin.display(description="token", ordering="hint")
    def masked(self, token: ReferenceToken) -> str:
        # The kind under the hint: one column fewer, so the list fits beside both sidebars.
        return format_html(
            '<span class="nowrap">{}</span> <span class="quiet">{}</span>',
            token.masked,
            "Service" if token.kind == TokenKind.SERVICE else "Personal",
        )

    @admin.display(description="description", ordering="description")
    def description_or_dash(self, token: ReferenceToken) -> str:
        return token.description or "—"

    @admin.display(description="address ranges")
    def address_ranges(self, token: ReferenceToken) -> str:
        return ", ".join(token.range_list) or "any address"

    @admin.display(description="last refused")
    def last_refused(self, token: ReferenceToken) -> str:
        if token.last_refused_at is None:
            return "—"
        where = token.last_refused_ip or "no address reported"
        return f"{_day(token.last_refused_at)} from {where} (outside its ranges)"

    @admin.display(description="owner told")
    def owner_told(self, token: ReferenceToken) -> str:
        """The reminders it was sent (issue 23): its last expiry stage, and the unused warning."""
        told = []
        if token.expiry_reminder_days == 0:
            told.append("that it expired")
        elif token.expiry_reminder_days is not None:
            days = token.expiry_reminder_days
            told.append(f"that it expires within {days} day{'' if days == 1 else 's'}")
        if token.unused_warned_at is not None:
            told.append(f"on {_day(token.unused_warned_at)} that it would be revoked unused")
        return "; ".join(told) or "—"

    @admin.display(description="last used from")
    def last_used_from(self, token: ReferenceToken) -> str:
        return token.last_used_ip or "—"

    @admin.display(description="application", ordering="application__name")
    def application_name(self, token: ReferenceToken) -> str:
        return token.application.name

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, token: ReferenceToken) -> str:
        return _day(token.expires_at, "Never")

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, token: ReferenceToken) -> str:
        return _day(token.last_used_at, "Never")

    @admin.display(description="status")
    def status_label(self, token: ReferenceToken) -> str:
        # The profile's badge (one partial for both consoles), so a revoked row looks revoked.
        return render_to_string("common/_status_badge.html", {"state": token.state})

    @admin.display(description="audit events")
    def events_link(self, token: ReferenceToken) -> str:
        url = reverse("admin:tokens_tokenevent_changelist") + f"?token__id__exact={token.pk}"
        return format_html('<a href="{}">Events of this token</a>', url)

    @admin.display(description="replaces")
    def rotated_from_link(self, token: ReferenceToken) -> str:
        return _token_link(token.rotated_from)

    @admin.display(description="replaced by")
    def rotated_to_link(self, token: ReferenceToken) -> str:
        return _token_link(token.replacement)

    def tokens_to_revoke(self, queryset: QuerySet[ReferenceToken]) -> QuerySet[ReferenceToken]:
        return queryset

    def get_urls(self):
        return [
            path(
                "<path:object_id>/revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="tokens_referencetoken_revoke",
            ),
            path(
                "<path:object_id>/rotate/",
                self.admin_site.admin_view(self.rotate_view),
                name="tokens_referencetoken_rotate",
            ),
            *super().get_urls(),
        ]

    def _token_page(self, request: HttpRequest, object_id: str) -> dict | HttpResponse:
        """The context of a page of one token's own (the token, where to go back), or the
        admin's answer to an id that names none."""
        token = self.get_object(request, object_id)
        if token is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        change_url = reverse("admin:tokens_referencetoken_change", args=[quote(token.pk)])
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": token,
            "change_url": change_url,
            "next_url": safe_next(request, change_url),
        }

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Revoke one token, after a confirmation that asks why."""
        if not self.has_revoke_permission(request):
            raise PermissionDenied
        page = self._token_page(request, object_id)
        if isinstance(page, HttpResponse):
            return page
        token, next_url = page["original"], page["next_url"]
        if token.revoked_at is not None:
            self.message_user(request, f"Token {token.masked} was already revoked.", messages.INFO)
            return HttpResponseRedirect(next_url)
        form = RevokeForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            if lifecycle.revoke_token(
                token, by=signed_in(request), reason=reason, ip=remote_address(request)
            ):
                log_revocations(request, [token], reason)
            self.message_user(request, f"Revoked token {token.masked}.", messages.SUCCESS)
            return HttpResponseRedirect(next_url)
        return render_revoke_confirmation(
            request,
            self,
            title=f"Revoke token {token.masked}?",
            tokens=ReferenceToken.objects.filter(pk=token.pk),
            form=form,
            hidden=[("next", next_url)],
        )

    @method_decorator(sensitive_variables("issued"))
    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Replace one live service token by a new one with the same facts, shown once."""
        # Before the lookup: without the right to rotate, every id answers the same.
        if not self.has_rotate_permission(request):
            raise PermissionDenied
        page = self._token_page(request, object_id)
        if isinstance(page, HttpResponse):
            return page
        token = page["original"]
        if not self.has_rotate_permission(request, token):
            return self._personal_token_refusal(request, token, page)
        if request.method != "POST":
            page.update(
                title=f"Rotate token {token.masked}?",
                form_key=new_form_key(request),
                unusable_reason=token.unusable_reason(),
            )
            return TemplateResponse(request, "admin/tokens/referencetoken/rotate.html", page)
        issued = rotate_posted(
            request,
            token,
            confirmation=lambda: admin_confirmation_needed(
                self, request, token, action=f"rotate the token {token.masked}"
            ),
            back=page["next_url"],
        )
        if isinstance(issued, HttpResponse):
            return issued
        return self._rotated(request, token, issued, page)

    def _personal_token_refusal(
        self, request: HttpRequest, token: ReferenceToken, page: dict
    ) -> HttpResponse:
        # A personal token, which this person may see (and revoke): 403 with the reason and the
        # way out, not a 404 that would deny the token they just looked at.
        page.update(
            title=f"Token {token.masked} cannot be rotated here",
            refusal=(
                f"{token.masked} is a personal access token of {token.user}. Only its "
                "owner rotates it, in their profile or with the token itself, so that "
                "nobody else ever holds a token acting as them. To end it now, revoke it."
            ),
            may_revoke=self.has_revoke_permission(request) and token.revoked_at is None,
        )
        return TemplateResponse(
            request, "admin/tokens/referencetoken/rotate.html", page, status=403
        )

    @method_decorator(sensitive_variables("issued"))
    def _rotated(
        self, request: HttpRequest, token: ReferenceToken, issued: IssuedToken, page: dict
    ) -> HttpResponse:
        new = issued.token
        # The hints only: the admin history must never hold a token.
        self.log_change(request, token, f"Rotated: replaced by {new.masked}.")
        self.message_user(
            request,
            f"Rotated token {token.masked}: its replacement is {new.masked}.",
            messages.SUCCESS,
        )
        page.update(
            title="Token rotated",
            token=new,
            plaintext=issued.plaintext,
            scopes=" ".join(s.name for s in new.scopes.all()),
            new_url=reverse("admin:tokens_referencetoken_change", args=[quote(new.pk)]),
        )
        # Rendered, not redirected: the plaintext exists only in this response.
        return no_store(TemplateResponse(request, "admin/tokens/referencetoken/rotated.html", page))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_revoke": self.has_revoke_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_rotate"] = obj is not None and self.has_rotate_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


def _token_link(token: ReferenceToken | None) -> str:
    if token is None:
        return "—"
    url = reverse("admin:tokens_referencetoken_change", args=[quote(token.pk)])
    return format_html('<a href="{}">{}</a>', url, token.masked)

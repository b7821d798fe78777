"""The admin site of the portal: a dashboard on its index, and its sections in the order an
instance admin works (Security, Tokens, Accounts, then sign-in protection).

It is the default admin site (tokens.apps.PortalAdminConfig), so every `admin.site.register` and
`admin.site.urls` use it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.lockout import locked_attempts
from tokens.domain.lifetime_rules import report_rules_on, would_refuse_ids
from tokens.models import EXPIRING_SOON, ReferenceToken, TokenEvent, TokenKind

# The admin's sections, in this order; anything else comes after, as Django sorts it.
SECTION_ORDER = ["trustedapps", "tokens", "accounts", "auth", "axes"]
SECTION_NAMES = {"axes": "Sign-in protection"}
# Each figure counts at most this many rows, so the index stays fast on a million tokens.
FIGURE_CAP = 10_000
LATEST_EVENTS = 8
# "Unused" and "revoked recently", on the dashboard and in the token list's filters it links to.
UNUSED_FOR = timedelta(days=90)
RECENTLY = timedelta(days=7)


@dataclass(frozen=True)
class Figure:
    label: str
    count: int
    url: str
    warning: bool = False

    @property
    def shown(self) -> str:
        return f"{FIGURE_CAP:,}+" if self.count > FIGURE_CAP else f"{self.count:,}"


def _capped(queryset: QuerySet) -> int:
    return queryset.order_by()[: FIGURE_CAP + 1].count()


class PortalAdminSite(admin.AdminSite):
    site_header = "Token portal administration"
    site_title = "Token portal admin"
    index_title = "Instance management"
    index_template = "admin/index.html"
    # One empty value in both consoles (docs/glossary.md), not Django's "-".
    empty_value_display = "—"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        for app in apps:
            app["name"] = SECTION_NAMES.get(app["app_label"], app["name"])
        if app_label is None:
            # Groups belong with the people they group.
            accounts = next((a for a in apps if a["app_label"] == "accounts"), None)
            auth = next((a for a in apps if a["app_label"] == "auth"), None)
            if accounts and auth:
                accounts["models"] = [*accounts["models"], *auth["models"]]
                apps.remove(auth)

        def position(app: dict) -> int:
            label = app["app_label"]
            return SECTION_ORDER.index(label) if label in SECTION_ORDER else len(SECTION_ORDER)

        return sorted(apps, key=position)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        context = {**(extra_context or {}), **dashboard(request)}
        return super().index(request, context)


def dashboard(request: HttpRequest) -> dict[str, Any]:
    """The figures an instance admin checks first, each linking to the list it counts."""
    user = request.user
    figures: list[Figure] = []
    events: list[TokenEvent] = []
    if user.has_perm("tokens.view_referencetoken"):
        figures += token_figures(timezone.now())
    if user.has_perm("axes.view_accessattempt"):
        figures.append(
            Figure(
                "Locked-out sign-ins",
                _capped(locked_attempts()),
                # The people themselves, each one click from Unlock (issue 20, defect 13).
                reverse("admin:accounts_user_changelist") + "?locked=yes"
                if user.has_perm("accounts.view_user")
                else reverse("admin:axes_accessattempt_changelist"),
                warning=True,
            )
        )
    if user.is_active and getattr(user, "is_instance_admin", False):
        # Issue 23, approval: the token requests waiting for a decision.
        from approvals.models import TokenRequest

        figures.append(
            Figure(
                "Token requests waiting for approval",
                _capped(TokenRequest.objects.pending()),
                reverse("admin:approvals_tokenrequest_changelist") + "?state=requested",
                warning=True,
            )
        )
    if user.has_perm("tokens.view_tokenevent"):
        events = list(
            TokenEvent.objects.select_related("token", "token__application", "actor")[
                :LATEST_EVENTS
            ]
        )
    leaks: list[TokenEvent] = []
    if user.has_perm("tokens.view_tokenevent"):
        # Issue 24: the latest tokens reported as leaked, and where.
        leaks = list(
            TokenEvent.objects.exclude(leak_source="").select_related(
                "token", "token__application"
            )[:LATEST_EVENTS]
        )
    return {
        "figures": figures,
        "latest_events": events,
        "latest_leaks": leaks,
        "events_url": reverse("admin:tokens_tokenevent_changelist")
        if user.has_perm("tokens.view_tokenevent")
        else "",
    }


def token_figures(now: datetime) -> list[Figure]:
    tokens = reverse("admin:tokens_referencetoken_changelist")
    live = ReferenceToken.objects.live(now)
    return [
        Figure(
            "Current personal access tokens",
            _capped(live.filter(kind=TokenKind.PERSONAL)),
            f"{tokens}?kind__exact=personal&status=live",
        ),
        Figure(
            "Current service access tokens",
            _capped(live.filter(kind=TokenKind.SERVICE)),
            f"{tokens}?kind__exact=service&status=live",
        ),
        Figure(
            "Expiring within 7 days",
            _capped(ReferenceToken.objects.expiring_within(EXPIRING_SOON, now)),
            f"{tokens}?expires=7d",
            warning=True,
        ),
        Figure(
            "Unused for 90 days",
            _capped(ReferenceToken.objects.unused_since(now - UNUSED_FOR)),
            f"{tokens}?unused=90d",
        ),
        Figure(
            "Revoked in the last 7 days",
            _capped(ReferenceToken.objects.filter(revoked_at__gte=now - RECENTLY)),
            f"{tokens}?revoked=7d",
        ),
        *_lifetime_rule_figures(tokens, now),
    ]


def _lifetime_rule_figures(tokens: str, now: datetime) -> list[Figure]:
    """Issue 23: how many live tokens a rule in report mode would block, shown only while a
    rule is in report mode."""
    if not report_rules_on():
        return []
    return [
        Figure(
            "Would be blocked by report-only rules",
            len(would_refuse_ids(now)),
            f"{tokens}?would_refuse=report",
            warning=True,
        )
    ]

"""Profile → Security → Tokens: people list, create and revoke their own personal tokens.

Every page works without JavaScript; htmx only swaps the pieces that change (a row, the table,
the application-dependent fields), rendered by the same partial templates as the full pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper
from django.forms import ModelChoiceField
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from accounts.http import SignedInRequest
from accounts.sudo import confirmation_needed
from common.http import no_store, remote_address
from common.ids import is_row_id
from common.once import form_key_of, new_form_key
from tokens.domain import lifecycle
from tokens.domain.expiry import (
    CUSTOM,
    clamped_expiry,
    default_expiry_day,
    expiry_presets,
    first_expiry_day,
    last_expiry_day,
    preset_for,
    today_utc,
)
from tokens.domain.lifecycle import IssuedToken
from tokens.domain.status import evaluate
from tokens.models import (
    EXPIRING_SOON,
    REVOKED_BY_OWNER,
    ReferenceToken,
    ReferenceTokenQuerySet,
    TokenEvent,
    live_condition,
    made_to_outlive_the_warning,
)
from tokens.validation.lookup import facts_by_id
from tokens.web.forms import IssueTokenForm, PersonalTokenForm
from tokens.web.removal import listed
from tokens.web.rotation import lifetime_choices, posted_lifetime, rotate_posted
from trustedapps.models import TrustedApplication

TOKENS_PER_PAGE = 20


def _own_tokens(request: SignedInRequest) -> ReferenceTokenQuerySet:
    # One query for the tokens and their applications, one for all their scopes, one for the
    # facts of their status: the page costs the same queries whatever the number of tokens.
    return (
        ReferenceToken.objects.personal_of(request.user)
        # The replacement of a rotated token, for the row's link: a join, not a query a row.
        .select_related("user", "application", "rotated_to")
        .prefetch_related("scopes")
        .with_facts()
    )


def _counts(request: SignedInRequest) -> dict[str, int]:
    """The figures of the line above the table, also sent after an htmx revoke.

    Active and suspended come from the status rule (what the validation URL would answer), so
    the tokens of a disabled application are never counted as working, nor told to rotate: two
    queries whatever the number of tokens (the dates of all, the facts of the current ones).
    """
    now = timezone.now()
    dates = listed(ReferenceToken.objects.personal_of(request.user)).annotate(
        current=ExpressionWrapper(live_condition(now), output_field=BooleanField())
    )
    found = list(dates.values_list("pk", "current"))
    current = [pk for pk, is_current in found if is_current]
    active = [facts for facts in facts_by_id(current).values() if evaluate(facts, now).is_active]
    return {
        "total_count": len(found),
        "active_count": len(active),
        "suspended_count": len(current) - len(active),
        "inactive_count": len(found) - len(current),
        "expiring_count": sum(
            1
            for facts in active
            if facts.expires_at is not None
            and facts.expires_at - now <= EXPIRING_SOON
            and made_to_outlive_the_warning(facts.created_at, facts.expires_at)
        ),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
def token_list(request: SignedInRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    tokens = listed(_own_tokens(request))
    counts = _counts(request)
    if not show_all:
        tokens = tokens.live()
    page = Paginator(tokens, TOKENS_PER_PAGE).get_page(request.GET.get("page"))
    created = request.GET.get("created", "")
    last_revoked = None
    if not page.object_list and counts["total_count"]:
        # Nothing current left: say who revoked the latest and why (an admin's "revoke all").
        last_revoked = (
            ReferenceToken.objects.personal_of(request.user)
            .revoked()
            .select_related("revoked_by")
            .order_by("-revoked_at", "-id")
            .first()
        )
    context = {
        "page": page,
        "show_all": show_all,
        "last_revoked": last_revoked,
        # After "Done" on the shown-once page: that row is highlighted.
        "created_id": int(created) if is_row_id(created) else None,
        **counts,
    }
    template = "tokens/_token_table.html" if request.htmx else "tokens/token_list.html"
    return render(request, template, context)


def _application_fields(
    application: TrustedApplication | None,
    expires_value: Any,
    expires_in: Any,
    checked_scopes: Any,
    form: IssueTokenForm | None = None,
    note: str = "",
) -> dict[str, Any]:
    """What the application-dependent part of the form (expiry, scopes) shows."""
    presets = expiry_presets(application)
    return {
        "application": application,
        "scopes": list(application.allowed_scopes.all()) if application else [],
        "checked_scopes": {str(pk) for pk in checked_scopes or []},
        # A value someone cleared stays cleared, beside its error: never a default in its place.
        "expires_value": expires_value or "",
        "expires_in": expires_in or CUSTOM,
        "presets": [(str(days), _in_days_label(days)) for days in presets],
        "expires_min": first_expiry_day().isoformat(),
        "expires_max": last_expiry_day(application).isoformat() if application else "",
        "expires_max_day": last_expiry_day(application) if application else None,
        "expires_errors": form.errors.get("expires_at") if form else None,
        "scope_errors": form.errors.get("scopes") if form else None,
        "application_note": note,
    }


def expiry_fields(application: TrustedApplication, form: IssueTokenForm) -> dict[str, Any]:
    """The context of `_expiry_fields.html` for an issuing form of `application`: the admin's
    service token form shows the profile's presets (issue 20, defect 14)."""
    value, preset = form["expires_at"].value(), form["expires_in"].value()
    if isinstance(value, date):
        value = value.isoformat()
    if form.is_bound and (value or form.errors.get("expires_at")):
        preset = CUSTOM  # a date typed, or a refusal: the date field, beside its error
    return _application_fields(application, value, preset, [], form if form.is_bound else None)


def _in_days_label(days: int) -> str:
    return f"{days} days ({today_utc() + timedelta(days=days):%-d %b %Y})"


def _chosen_application(applications: Any, application_id: Any) -> TrustedApplication | None:
    if application_id:
        return applications.filter(pk=application_id).first() if is_row_id(application_id) else None
    # The select has no empty choice, so the browser shows the first application as chosen.
    return applications.first()


def _render_form(
    request: SignedInRequest, form: PersonalTokenForm, status: int = 200, note: str = ""
) -> HttpResponse:
    applications = cast(ModelChoiceField, form.fields["application"]).queryset
    application = _chosen_application(applications, form["application"].value())
    expires_value = form["expires_at"].value()
    expires_in = form["expires_in"].value()
    if not form.is_bound and not expires_value and not expires_in and application is not None:
        # The default lifetime, as a preset when it is one, else as a date.
        expires_in = preset_for(application, default_expiry_day(application))
        if expires_in == CUSTOM:
            expires_value = default_expiry_day(application).isoformat()
    if form.is_bound and (expires_value or form.errors.get("expires_at")):
        expires_in = CUSTOM
    context = {
        "form": form,
        "applications": applications,
        # Issue 23, approval: the applications that give tokens on request are asked for there.
        "requestable": list(TrustedApplication.objects.requestable_by(request.user)),
        "chosen": application,
        "error_count": sum(len(errors) for errors in form.errors.values()) if form.is_bound else 0,
        **_application_fields(
            application,
            expires_value,
            expires_in,
            form["scopes"].value(),
            form if form.is_bound else None,
            note,
        ),
    }
    return render(request, "tokens/token_create.html", context, status=status)


def _confirm_password(request: SignedInRequest, action: str) -> HttpResponse | None:
    """Sudo mode: None when the person may go on, else the page asking for their password."""

    def render_page(context: dict[str, Any], status: int) -> HttpResponse:
        context["post_url"] = request.get_full_path()
        return no_store(render(request, "accounts/confirm_password.html", context, status=status))

    return confirmation_needed(request, render_page, action=action)


def _render_shown_once(
    request: SignedInRequest,
    issued: IssuedToken,
    replaced: ReferenceToken | None = None,
    renewed: ReferenceToken | None = None,
) -> HttpResponse:
    response = render(
        request,
        "tokens/token_created.html",
        {
            "token": issued.token,
            "plaintext": issued.plaintext,
            "replaced": replaced,
            "renewed": renewed,  # issue 20: the expired or revoked token it renews
        },
        status=201,
    )
    # The only response that ever holds the token: no cache, no back-button copy may keep it.
    return no_store(response)


@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: SignedInRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, PersonalTokenForm(request=request))
    if "choose_application" in request.POST or "select_all_scopes" in request.POST:
        return _render_form_step(request)
    form = PersonalTokenForm(request.POST, request=request)
    if form.is_valid():
        confirm = _confirm_password(request, "create a personal access token")
        if confirm is not None:
            return confirm  # sudo mode: the password again, then this form goes on
        issued = form.save()
        if issued is not None:
            return _render_shown_once(request, issued)
    if form.resubmission:
        messages.warning(request, form.resubmission)
        return redirect("token_list")
    return _render_form(request, form, status=400)


def _render_form_step(request: SignedInRequest) -> HttpResponse:
    """The steps of the form without JavaScript: show the chosen application's scopes and
    limits (bringing the expiry within them), or tick every scope, keeping what was typed,
    without refusing anything yet."""
    data = request.POST
    applications = TrustedApplication.objects.issuable_by(request.user)
    application = _chosen_application(applications, data.get("application"))
    expires_at, expires_in, note = data.get("expires_at"), data.get("expires_in"), ""
    scopes = data.getlist("scopes")
    if application is not None:
        expires_at, expires_in, note = clamped_expiry(application, expires_at, expires_in)
        if "select_all_scopes" in data:
            scopes = [str(scope.pk) for scope in application.allowed_scopes.all()]
    initial = {
        "application": application.pk if application else None,
        "description": data.get("description", ""),
        "expires_at": expires_at,
        "expires_in": expires_in,
        "scopes": scopes,
    }
    if form_key_of(request, data.get("form_key", "")):
        initial["form_key"] = data["form_key"]  # still this form's key: it may issue once
    form = PersonalTokenForm(request=request, initial=initial)
    return _render_form(request, form, note=note)


@login_required
@require_GET
def application_fields(request: SignedInRequest) -> HttpResponse:
    """The expiry and scope fields of one application (htmx swaps them when it changes)."""
    applications = TrustedApplication.objects.issuable_by(request.user)
    application = _chosen_application(applications, request.GET.get("application"))
    if application is None:
        raise Http404("No such application among those you may create tokens for.")
    expires_at, expires_in, note = clamped_expiry(
        application, request.GET.get("expires_at"), request.GET.get("expires_in")
    )
    context = _application_fields(
        application, expires_at, expires_in, request.GET.getlist("scopes"), note=note
    )
    return render(request, "tokens/_application_fields.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: SignedInRequest, token_id: int) -> HttpResponse:
    # Someone else's token is simply not found: its existence is none of this user's business.
    token = get_object_or_404(_own_tokens(request), pk=token_id)
    if request.method == "GET":
        # The confirmation page (without JavaScript); GET never changes anything.
        return render(request, "tokens/token_revoke.html", {"token": token})
    revoked = lifecycle.revoke_token(
        token, by=request.user, reason=REVOKED_BY_OWNER, ip=remote_address(request)
    )
    if request.htmx:
        # The row in place, and the count line above the table (an out-of-band swap).
        context = {"token": token, "just_revoked": revoked, "oob": True, **_counts(request)}
        return render(request, "tokens/_revoked_row.html", context)
    name = f"Personal access token “{token.description}” ({token.masked})"
    if revoked:
        messages.success(request, f"{name} was revoked.")
    else:
        messages.info(request, f"{name} was already revoked.")
    return redirect("token_list")


@login_required
@require_GET
def token_detail(request: SignedInRequest, token_id: int) -> HttpResponse:
    """One token's facts and its own audit trail (including the rotation that made it)."""
    token = get_object_or_404(
        _own_tokens(request).select_related("revoked_by", "created_by", "rotated_from"),
        pk=token_id,
    )
    events = list(
        TokenEvent.objects.of_token(token).select_related("actor", "token", "new_token")[:100]
    )
    context = {
        "token": token,
        "replacement": token.replacement,
        "events": events,
        "timeline": _timeline(token, events),
        "unusable_reason": token.unusable_reason(),
    }
    return render(request, "tokens/token_detail.html", context)


@dataclass(frozen=True)
class LastUse:
    """The token's last use as a row of its audit table (recorded at most once a minute)."""

    at: datetime
    ip: str | None
    action = "used"


def _timeline(token: ReferenceToken, events: list[TokenEvent]) -> list[TokenEvent | LastUse]:
    """Its events and its last use, newest first by time. At the same moment the event comes
    first: a use is recorded up to a minute late."""
    rows: list[TokenEvent | LastUse] = list(events)
    if token.last_used_at is not None:
        rows.append(LastUse(at=token.last_used_at, ip=token.last_used_ip))
    return sorted(rows, key=lambda row: row.at, reverse=True)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("issued")
def token_rotate(request: SignedInRequest, token_id: int) -> HttpResponse:
    """Replace a live token by a new one with the same facts, shown once; the old one is revoked."""
    token = get_object_or_404(_own_tokens(request).select_related("user"), pk=token_id)
    if request.method == "GET":
        # The confirmation: a page without JavaScript, a panel in the token's row with htmx.
        template = "tokens/_rotate_panel.html" if request.htmx else "tokens/token_rotate.html"
        unusable = token.unusable_reason()
        context = {
            "token": token,
            "form_key": new_form_key(request),
            "unusable_reason": unusable,
            # The lifetimes the replacement may get, each with its exact expiry, said before it
            # is made (issue 20, defect 8).
            "lifetimes": [] if unusable else lifetime_choices(token, timezone.now()),
        }
        return render(request, template, context)
    issued = rotate_posted(
        request,
        token,
        confirmation=lambda: _confirm_password(
            request, f"rotate the token “{token.description}” ({token.masked})"
        ),
        back=reverse("token_list"),
        expires_in_days=posted_lifetime(request),
    )
    if isinstance(issued, HttpResponse):
        return issued
    return _render_shown_once(request, issued, replaced=token)

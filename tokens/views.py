"""Profile → Security → Tokens: people list, create and revoke their own personal tokens.

Every page works without JavaScript; htmx only swaps the pieces that change (a row, the table,
the application-dependent fields), rendered by the same partial templates as the full pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from common.http import no_store, remote_address
from common.ids import is_row_id
from common.once import form_key_of
from tokens.forms import (
    PersonalTokenForm,
    default_expiry_day,
    first_expiry_day,
    last_expiry_day,
)
from tokens.models import (
    IssuedToken,
    ReferenceToken,
    ReferenceTokenQuerySet,
    unexpired_condition,
)
from trustedapps.models import TrustedApplication

TOKENS_PER_PAGE = 20


def _own_tokens(request: HttpRequest) -> ReferenceTokenQuerySet:
    # One query for the tokens and their applications, one for all their scopes: the page costs
    # the same number of queries whatever the number of tokens.
    return ReferenceToken.objects.personal_of(request.user).with_facts()


@login_required
@require_GET
@vary_on_headers("HX-Request")
def token_list(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    now = timezone.now()
    tokens = _own_tokens(request)
    counts = ReferenceToken.objects.personal_of(request.user).aggregate(
        total=Count("pk"),
        current=Count("pk", filter=unexpired_condition(now)),
    )
    if not show_all:
        tokens = tokens.unexpired(now)
    page = Paginator(tokens, TOKENS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show_all": show_all,
        "hidden_count": 0 if show_all else counts["total"] - counts["current"],
        "total_count": counts["total"],
    }
    template = "tokens/_token_table.html" if request.htmx else "tokens/token_list.html"
    return render(request, template, context)


def _application_fields(
    application: TrustedApplication | None,
    expires_value: Any,
    checked_scopes: Any,
    form: PersonalTokenForm | None = None,
) -> dict[str, Any]:
    """What the application-dependent part of the form (expiry limits, scopes) shows."""
    return {
        "application": application,
        "scopes": list(application.allowed_scopes.all()) if application else [],
        "checked_scopes": {str(pk) for pk in checked_scopes or []},
        "expires_value": expires_value or default_expiry_day(application).isoformat(),
        "expires_min": first_expiry_day().isoformat(),
        "expires_max": last_expiry_day(application).isoformat() if application else "",
        "expires_errors": form.errors.get("expires_at") if form else None,
        "scope_errors": form.errors.get("scopes") if form else None,
    }


def _chosen_application(applications: Any, application_id: Any) -> TrustedApplication | None:
    if application_id:
        return applications.filter(pk=application_id).first() if is_row_id(application_id) else None
    # The select has no empty choice, so the browser shows the first application as chosen.
    return applications.first()


def _render_form(request: HttpRequest, form: PersonalTokenForm, status: int = 200) -> HttpResponse:
    applications = form.fields["application"].queryset
    application = _chosen_application(applications, form["application"].value())
    context = {
        "form": form,
        "applications": applications,
        "chosen": application,
        **_application_fields(
            application,
            form["expires_at"].value(),
            form["scopes"].value(),
            form if form.is_bound else None,
        ),
    }
    return render(request, "tokens/token_create.html", context, status=status)


def _render_shown_once(request: HttpRequest, issued: IssuedToken) -> HttpResponse:
    response = render(
        request,
        "tokens/token_created.html",
        {"token": issued.token, "plaintext": issued.plaintext},
        status=201,
    )
    # The only response that ever holds the token: no cache, no back-button copy may keep it.
    return no_store(response)


@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render_form(request, PersonalTokenForm(request=request))
    if "choose_application" in request.POST:
        # Step one of the form without JavaScript: show the chosen application's scopes and
        # limits, keeping what was typed, without refusing anything yet.
        data = request.POST
        initial = {
            "application": data.get("application"),
            "description": data.get("description", ""),
            "expires_at": data.get("expires_at"),
            "scopes": data.getlist("scopes"),
        }
        if form_key_of(request, data.get("form_key", "")):
            initial["form_key"] = data["form_key"]
        return _render_form(request, PersonalTokenForm(request=request, initial=initial))

    form = PersonalTokenForm(request.POST, request=request)
    issued = form.save() if form.is_valid() else None
    if issued is not None:
        return _render_shown_once(request, issued)
    if form.is_resubmission:
        messages.warning(request, form.errors["form_key"][0])
        return redirect("token_list")
    return _render_form(request, form, status=400)


@login_required
@require_GET
def application_fields(request: HttpRequest) -> HttpResponse:
    """The expiry and scope fields of one application (htmx swaps them when it changes)."""
    applications = TrustedApplication.objects.issuable_by(request.user)
    application = _chosen_application(applications, request.GET.get("application"))
    if application is None:
        raise Http404("No such application among those you may create tokens for.")
    context = _application_fields(
        application, request.GET.get("expires_at"), request.GET.getlist("scopes")
    )
    return render(request, "tokens/_application_fields.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    # Someone else's token is simply not found: its existence is none of this user's business.
    token = get_object_or_404(_own_tokens(request), pk=token_id)
    if request.method == "GET":
        # The confirmation page (without JavaScript); GET never changes anything.
        return render(request, "tokens/token_revoke.html", {"token": token})
    revoked = token.revoke(
        by=request.user, reason="Revoked by its owner in the portal", ip=remote_address(request)
    )
    if request.htmx:
        return render(request, "tokens/_token_row.html", {"token": token, "just_revoked": revoked})
    if revoked:
        messages.success(request, f"Token “{token.description}” ({token.masked}) was revoked.")
    else:
        messages.info(request, f"Token “{token.description}” ({token.masked}) was already revoked.")
    return redirect("token_list")

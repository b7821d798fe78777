"""Profile → Personal access tokens → Requests: ask for a token of an application whose policy
needs approval, follow the decision, and pick the approved token up once (sudo mode)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.http import SignedInRequest
from accounts.sudo import confirmation_needed
from approvals import domain
from approvals.forms import ALREADY_REQUESTED, TokenRequestForm
from approvals.models import TokenRequest
from common.http import no_store, remote_address
from common.once import FormKeyUsed, used_once
from trustedapps.models import TrustedApplication


def _own_requests(request: SignedInRequest):
    return (
        TokenRequest.objects.of(request.user)
        .select_related("application", "decided_by", "token")
        .prefetch_related("scopes")
    )


@login_required
@require_GET
def request_list(request: SignedInRequest) -> HttpResponse:
    context = {
        "requests": _own_requests(request)[:100],
        "may_request": TrustedApplication.objects.requestable_by(request.user).exists(),
    }
    return render(request, "approvals/request_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: SignedInRequest) -> HttpResponse:
    # ?application=ID: the create form's link for an application that gives tokens on request.
    initial = {"application": request.GET.get("application")}
    form = TokenRequestForm(
        request.POST or None, request=request, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with used_once(data["form_key"]):
                domain.create_request(
                    requester=request.user,
                    application=data["application"],
                    scopes=data["scopes"],
                    lifetime_days=data["lifetime_days"],
                    reason=data["reason"],
                    description=data["description"],
                )
        except FormKeyUsed:
            messages.info(request, ALREADY_REQUESTED)
            return redirect("token_request_list")
        messages.success(
            request,
            f"Your request for a token for {data['application'].name} was sent: "
            "the administrators are told, and you will be told their decision.",
        )
        return redirect("token_request_list")
    status = 400 if form.is_bound else 200
    return render(request, "approvals/request_create.html", {"form": form}, status=status)


def _confirm_password(request: SignedInRequest, action: str) -> HttpResponse | None:
    def render_page(context: dict[str, Any], status: int) -> HttpResponse:
        context["post_url"] = request.get_full_path()
        return no_store(render(request, "accounts/confirm_password.html", context, status=status))

    return confirmation_needed(request, render_page, action=action)


@login_required
@require_POST
@sensitive_variables("issued")
def request_pick_up(request: SignedInRequest, request_id: int) -> HttpResponse:
    # Someone else's request is simply not found.
    token_request = get_object_or_404(_own_requests(request), pk=request_id)
    confirm = _confirm_password(
        request, f"get the token approved for {token_request.application.name}"
    )
    if confirm is not None:
        return confirm
    try:
        issued = domain.pick_up(token_request, by=request.user, ip=remote_address(request))
    except domain.RequestRefused as refused:
        response = render(
            request,
            "approvals/request_list.html",
            {"requests": _own_requests(request)[:100], "refusal": refused.message},
            status=refused.status,
        )
        return response
    response = render(
        request,
        "tokens/token_created.html",
        {"token": issued.token, "plaintext": issued.plaintext, "replaced": None},
        status=201,
    )
    # The only response that ever holds the token.
    return no_store(response)

"""Profile → an expired or revoked token → Renew: a new token with the same settings, in one
step (issue 20, beyond the anchors). GET is the confirmation (what the new token gets); POST
makes it, once per form key and in sudo mode, and shows it once."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from accounts.http import SignedInRequest
from common.http import remote_address
from common.once import ALREADY_USED, STALE, FormKeyUsed, form_key_of, new_form_key, used_once
from tokens.domain.expiry import expiry_in_days
from tokens.domain.renewal import renew, renewal_days, renewal_refusal
from tokens.web import views


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_variables("issued")
def token_renew(request: SignedInRequest, token_id: int) -> HttpResponse:
    # Someone else's token is simply not found, as on every page of a token.
    token = get_object_or_404(views._own_tokens(request), pk=token_id)
    if request.method == "GET":
        days = renewal_days(token)
        context = {
            "token": token,
            "refusal": renewal_refusal(token, request.user),
            "form_key": new_form_key(request),
            "days": days,
            "new_expires_at": expiry_in_days(days),
        }
        return render(request, "tokens/token_renew.html", context)
    key = form_key_of(request, request.POST.get("form_key", ""))
    if key is None:
        messages.warning(request, STALE)
        return redirect("token_list")
    confirm = views._confirm_password(
        request, f"renew the token “{token.description}” ({token.masked})"
    )
    if confirm is not None:
        return confirm
    try:
        with used_once(key):
            issued = renew(token, by=request.user, ip=remote_address(request))
    except FormKeyUsed:
        messages.warning(request, ALREADY_USED)
        return redirect("token_list")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("token_list")
    return views._render_shown_once(request, issued, renewed=token)

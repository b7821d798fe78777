from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    # The portal has one page people come for; sign-in (if needed) happens on the way there.
    return redirect("token_list")


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponseRedirect:
    # The profile shell has one section so far: Security → Tokens.
    return redirect("token_list")

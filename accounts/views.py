from collections.abc import Callable
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.events import account_event
from accounts.http import SignedInRequest
from accounts.models import User


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_expiry"]
        labels = {"notify_expiry": "Tell me before my tokens expire"}


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    # The portal has one page people come for; sign-in (if needed) happens on the way there.
    return redirect("token_list")


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponseRedirect:
    # The profile shell has one section so far: Security → Tokens.
    return redirect("token_list")


def moved_to(url_name: str) -> Callable[[HttpRequest], HttpResponse]:
    """A view that sends the old sign-in and sign-out addresses to allauth's, for good.

    308, not 301: a POST (a sign-out form, a script signing in) stays a POST with its body.
    """

    def view(request: HttpRequest) -> HttpResponse:
        url = reverse(url_name)
        if request.META.get("QUERY_STRING"):
            url += "?" + request.META["QUERY_STRING"]
        return HttpResponsePermanentRedirect(url, preserve_request=True)

    return view


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in is the portal's (with its second factors); `next` comes along.

    A person already signed in who is not staff would go round in circles (the sign-in sends
    them on to the admin, which sends them back here): they are told they have no access.
    """
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect("admin:index")
        raise PermissionDenied("Your account has no access to the administration.")
    url = reverse("account_login")
    if request.GET.get("next"):
        url += "?" + urlencode({"next": request.GET["next"]})
    return HttpResponseRedirect(url)


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    """Profile → Notifications: expiry notices can be turned off; security notices cannot."""
    data = request.POST if request.method == "POST" else None  # an unticked box sends nothing
    form = NotificationsForm(data, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your notification settings were saved.")
        return redirect("notifications")
    return render(request, "accounts/notifications.html", {"form": form})


@login_required
@require_POST
def end_session(request: SignedInRequest, session_id: int) -> HttpResponse:
    """Profile → Security → Sessions: sign out one other browser of one's own."""
    from allauth.usersessions.models import UserSession

    session = get_object_or_404(UserSession, pk=session_id, user=request.user)
    if session.session_key == request.session.session_key:
        # This browser signs out with the header's button, which asks nothing more.
        return HttpResponseBadRequest("This is the session you are using: sign out instead.")
    session.end()
    account_event(request, "account.session_ended", ended_session=session.pk)
    messages.success(request, "That browser is signed out.")
    return redirect("usersessions_list")

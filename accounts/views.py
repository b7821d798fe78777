from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_expiry"]
        labels = {"notify_expiry": "Tell me before my tokens expire"}


# Pages that `next` must never name: sending a signed-in person back to them is a loop.
_NEVER_NEXT = {"login", "logout"}


@require_GET
def home(request: HttpRequest) -> HttpResponseRedirect:
    # The portal has one page people come for; sign-in (if needed) happens on the way there.
    return redirect("token_list")


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponseRedirect:
    # The profile shell has one section so far: Security → Tokens.
    return redirect("token_list")


class SignInView(auth_views.LoginView):
    """Django's sign-in, whose `next` never leads back to signing in or out.

    A signed-in person at /login/?next=/login/ was redirected to the page they were on, which
    Django refuses with an exception (a 500); they now go where a plain sign-in sends them.
    """

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        url = super().get_redirect_url()  # empty unless of this site
        if not url.isprintable():  # control characters: never a link anyone followed
            return ""
        try:
            if url and resolve(urlsplit(url).path).url_name in _NEVER_NEXT:
                return ""
        except Resolver404:
            pass
        return url


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

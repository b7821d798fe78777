"""Sudo mode: prove it is you (your password, an authenticator or recovery code, or a security key
or passkey) before a new credential is made.

Signing in counts as a confirmation, and so does django-allauth's reauthentication (its pages
ask for it before second factors change): one clock, REAUTH_MAX_AGE, for both
(accounts/allauth.py). The second factors are checked by allauth's own forms.

Past `REAUTH_MAX_AGE` seconds, a POST that would make a token or a secret is answered with a
page asking for the password (or a second factor); that page carries everything
the first form held (as hidden fields), so the action goes on, with what was typed, in the request
that confirms. The password goes through `authenticate()`, so failures count toward the same
django-axes lockout as the sign-in page, and a locked-out person gets its 429 page. Every request
that sudo mode sees has the password field marked sensitive, so that an error report (a 500's
mail to ADMINS) shows stars in its place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.account.signals import user_logged_in as allauth_logged_in
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from accounts import mfa_policy
from accounts.events import account_event

SESSION_KEY = "password_confirmed_at"
METHOD_KEY = "confirmed_by"
PASSWORD_FIELD = "sudo_password"
# An authenticator or recovery code, or a security key's answer (JSON), instead of the password.
CODE_FIELD = "sudo_code"
KEY_FIELD = "sudo_webauthn"
_FACTOR_FIELDS = (PASSWORD_FIELD, CODE_FIELD, KEY_FIELD)
# Never carried over into the confirmation page: the CSRF token is the page's own, and a
# password typed on a previous confirmation is never echoed into HTML. (The page's own hidden
# username, for password managers, has no name, so it is never sent: a form's own `username`
# field, the user admin's, is carried like any other.)
_NOT_CARRIED = {"csrfmiddlewaretoken", *_FACTOR_FIELDS}
WRONG_PASSWORD = "That is not your password. Try again."


@receiver(user_logged_in)
def _signed_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        mark_confirmed(request)


def mark_confirmed(request: HttpRequest, *, method: str = "password") -> None:
    request.session[SESSION_KEY] = int(time.time())
    # Which factor confirmed it (password, mfa): the audit trail of what it allowed says so.
    request.session[METHOD_KEY] = method


def is_recent(request: HttpRequest) -> bool:
    confirmed = request.session.get(SESSION_KEY)
    return isinstance(confirmed, int) and time.time() - confirmed < settings.REAUTH_MAX_AGE


def carried_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """What the first form sent, to send again with the password."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_CARRIED
        for value in values
    ]


def keep_out_of_error_reports(request: HttpRequest) -> None:
    """Mark the password field as @sensitive_post_parameters would, keeping the view's own marks.

    Django's error reports (DEBUG off) show stars for the marked POST values. A view that marked
    every field (`sensitive_post_parameters()`, "__ALL__") gets each of them named instead:
    a report cleanses a frame's own copy of `request.POST` only by name, so "__ALL__" would leave
    the HTML report's variables showing everything, the password included.
    """
    marked = getattr(request, "sensitive_post_parameters", None) or []
    names = list(request.POST) if marked == "__ALL__" else list(marked)
    names.extend(field for field in _FACTOR_FIELDS if field not in names)
    request.sensitive_post_parameters = names  # type: ignore[attr-defined]  # Django's own mark


@sensitive_variables("password")
def check_password_again(request: HttpRequest) -> str | None:
    """Confirm with the POSTed password: None when confirmed, else the message to show."""
    password = request.POST.get(PASSWORD_FIELD, "")
    if not password:
        return "Enter your password to continue."
    user = authenticate(request, username=request.user.get_username(), password=password)
    if user is None or user.pk != request.user.pk:
        return WRONG_PASSWORD
    # SSO_ONLY (issue 22): a password that cannot sign in does not confirm either.
    from accounts.sso import password_refusal

    refusal = password_refusal(user)
    if refusal is not None:
        return refusal
    mark_confirmed(request)
    return None


def confirmation_needed(
    request: HttpRequest, render_page: Any, *, action: str
) -> HttpResponse | None:
    """None when the person may go on; else the page asking for the password (or the lockout).

    `render_page(context, status)` renders the site's confirmation template (the profile's or
    the admin's) with this context: `action` (what is being confirmed), `carried`, `error`.
    """
    keep_out_of_error_reports(request)
    if request.method != "POST":
        return None
    refused = mfa_policy.refusal(request.user)
    if refused is not None:
        # MFA_REQUIRED, past the grace period: no new credential until a factor is added.
        return render_page({"action": action, "carried": [], "refusal": refused}, 403)
    if is_recent(request):
        return None
    error = None
    if any(field in request.POST for field in _FACTOR_FIELDS):
        error = confirm_again(request)
        if error is None:
            account_event(request, "account.sudo_confirmed", method=request.session.get(METHOD_KEY))
            return None
        if getattr(request, "axes_locked_out", False):
            # AxesMiddleware turns this request into its lockout page (429).
            return HttpResponse(status=429)
    context = {
        "action": action,
        "carried": carried_fields(request),
        "error": error,
        **second_factors(request),
    }
    return render_page(context, 403 if error else 200)


def confirm_again(request: HttpRequest) -> str | None:
    """Confirm with whichever factor was sent: None when confirmed, else the message to show."""
    if request.POST.get(KEY_FIELD):
        return _confirm_by_key(request)
    if request.POST.get(CODE_FIELD):
        return _confirm_by_code(request)
    return check_password_again(request)


def _confirm_by_code(request: HttpRequest) -> str | None:
    from accounts.factor_forms import ReconfirmCodeForm

    form = ReconfirmCodeForm(data={"code": request.POST[CODE_FIELD]}, user=request.user)
    if form.is_valid():
        form.save()  # allauth's reauthentication: accounts/allauth.py marks sudo mode
        return None
    return "That code is not right (or was used already). Try again."


def _confirm_by_key(request: HttpRequest) -> str | None:
    from allauth.mfa.webauthn.forms import ReauthenticateWebAuthnForm
    from allauth.mfa.webauthn.internal.flows import reauthenticate

    form = ReauthenticateWebAuthnForm(
        data={"credential": request.POST[KEY_FIELD]}, user=request.user
    )
    if form.is_valid():
        reauthenticate(request, form.cleaned_data["credential"])
        return None
    return "The security key did not confirm it is you. Try again, or use another way."


def second_factors(request: HttpRequest) -> dict[str, Any]:
    """What the confirmation page offers besides the password: a code field where the person
    has an authenticator app or recovery codes, a security-key button where they have a key
    (with the options of this one attempt, for static/js/webauthn.js)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.webauthn.internal import auth

    kinds = set(Authenticator.objects.filter(user=request.user).values_list("type", flat=True))
    context: dict[str, Any] = {
        "sudo_code": bool(kinds & {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}),
        "sudo_key": Authenticator.Type.WEBAUTHN in kinds,
    }
    if context["sudo_key"]:
        context["js_data"] = {"request_options": auth.begin_authentication(request.user)}
    return context


def admin_confirmation_needed(
    model_admin: Any, request: HttpRequest, obj: Any, *, action: str
) -> HttpResponse | None:
    """`confirmation_needed` for a page of the Django admin under one object (or one being
    added: `obj` unsaved, the page then sits under its add form)."""
    from django.contrib.admin.utils import quote
    from django.template.response import TemplateResponse
    from django.urls import reverse

    opts = model_admin.opts
    if obj.pk is None:
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        original: Any = f"Add {opts.verbose_name}"
    else:
        change_url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)]
        )
        original = obj

    def render_page(context: dict[str, Any], status: int) -> HttpResponse:
        response = TemplateResponse(
            request,
            "admin/confirm_password.html",
            {
                **model_admin.admin_site.each_context(request),
                **context,
                "title": "Confirm your password",
                "opts": opts,
                "original": original,
                "change_url": change_url,
                "post_url": request.get_full_path(),
            },
            status=status,
        )
        response["Cache-Control"] = "no-store"
        return response

    return confirmation_needed(request, render_page, action=action)


def admin_form_confirmation_needed(
    model_admin: Any,
    request: HttpRequest,
    object_id: str | None,
    *,
    action: Callable[[Any], str | None],
) -> HttpResponse | None:
    """`admin_confirmation_needed` for the admin's own add and change forms.

    Asked once the posted form is valid (a mistake is shown, and fixed, before the password),
    and only when `action(form)` names what saving it would do (show a secret, grant a power);
    the confirmation page carries the whole form. None: the admin's view goes on, and answers
    everything else itself (a refusal, an unknown object, an invalid form, the save).
    """
    from django.contrib.admin.utils import unquote

    if request.method != "POST":
        return None
    obj = model_admin.get_object(request, unquote(object_id)) if object_id else None
    if object_id is None:
        allowed = model_admin.has_add_permission(request)
    else:
        allowed = obj is not None and model_admin.has_change_permission(request, obj)
    if not allowed:
        return None
    form_class = model_admin.get_form(request, obj, change=obj is not None)
    form = form_class(request.POST, request.FILES, instance=obj)
    if not form.is_valid():
        return None
    what = action(form)
    if what is None:
        return None
    return admin_confirmation_needed(model_admin, request, form.instance, action=what)


@receiver(allauth_logged_in, dispatch_uid="portal-sso-signed-in")
def _signed_in_through_provider(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    # Signing in (again) at the identity provider (issue 22) confirms sudo mode, as a password
    # does; the audit trail of what it then allows says which.
    if kwargs.get("sociallogin") is not None:
        mark_confirmed(request, method="sso")

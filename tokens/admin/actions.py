"""Revoking from the admin, wherever tokens are listed: the action, its confirmation page (which
asks why), who may revoke or rotate, and the admin history of a revocation.

`revoke_tokens` is a module-level action, like Django's `delete_selected`: the token list, the
user list and any other admin offer it by naming it in `actions`.
"""

from __future__ import annotations

from typing import Protocol, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.http import signed_in
from common.http import remote_address
from tokens.domain import lifecycle
from tokens.models import ReferenceToken, ReferenceTokenQuerySet

CONFIRMATION_SAMPLE = 20


class RevokeForm(forms.Form):
    """A revocation always records why."""

    reason = forms.CharField(
        max_length=200,
        help_text="Recorded with the revocation, e.g. 'leaked in a public repository'.",
        widget=forms.TextInput(attrs={"size": 60}),
    )


class RevokesTokens(Protocol):
    """An admin that offers `revoke_tokens`: it says which tokens a selection stands for."""

    def tokens_to_revoke(self, queryset: QuerySet) -> ReferenceTokenQuerySet: ...


class RotatesTokens(Protocol):
    """The token admin: it says who may rotate which token."""

    def has_rotate_permission(self, request: HttpRequest, obj: ReferenceToken | None) -> bool: ...


def may_revoke(request: HttpRequest) -> bool:
    user = signed_in(request)
    return user.is_active and user.may_revoke_any_token


def rotatable(model_admin: admin.ModelAdmin, request: HttpRequest, tokens) -> set[int]:
    """The ids of those `tokens` this person may rotate: the Rotate… buttons of a token table."""
    token_admin = cast(RotatesTokens, model_admin.admin_site.get_model_admin(ReferenceToken))
    return {token.pk for token in tokens if token_admin.has_rotate_permission(request, token)}


def count_of(n: int, noun: str = "token") -> str:
    """ "1 token", "2 tokens": plain labels, never "token(s)"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def revoke_with_reason(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    tokens: QuerySet[ReferenceToken],
    reason: str,
) -> list[ReferenceToken]:
    """Revoke `tokens` as the person of `request`, record it in the admin history and say how
    many; the tokens revoked now."""
    revoked = lifecycle.revoke(
        tokens, by=signed_in(request), reason=reason, ip=remote_address(request)
    )
    log_revocations(request, revoked, reason)
    model_admin.message_user(request, f"Revoked {count_of(len(revoked))}.", messages.SUCCESS)
    return revoked


def log_revocations(request: HttpRequest, revoked: list[ReferenceToken], reason: str) -> None:
    if revoked:
        LogEntry.objects.log_actions(  # type: ignore[call-overload]  # single_object: a bool, not a literal
            signed_in(request).pk,
            revoked,
            CHANGE,
            change_message=f"Revoked: {reason}",
            single_object=len(revoked) == 1,
        )


def render_revoke_confirmation(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    *,
    title: str,
    tokens: QuerySet[ReferenceToken],
    form: RevokeForm,
    hidden: list[tuple[str, str]],
    subjects: list | None = None,
) -> TemplateResponse:
    """The intermediate page of every revocation: what will be revoked, and a reason to give."""
    template = getattr(model_admin, "revoke_confirmation_template", None)
    pending = tokens.filter(revoked_at__isnull=True)
    sample = list(pending.select_related("user", "application")[:CONFIRMATION_SAMPLE])
    pending_count = pending.count()
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.opts,
        "subjects": subjects or [],
        "sample": sample,
        "pending_count": pending_count,
        "more_count": max(pending_count - len(sample), 0),
        "form": form,
        "hidden": hidden,
    }
    return TemplateResponse(request, template or "admin/tokens/revoke_confirmation.html", context)


@admin.action(description="Revoke tokens…", permissions=["revoke"])
def revoke_tokens(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> TemplateResponse | None:
    """Revoke the tokens that the selection stands for, after a page that asks for a reason.

    Any admin may list it in its `actions`, giving `tokens_to_revoke(queryset)` (the tokens of
    the selected users, say), `has_revoke_permission` and, if it likes, its own
    `revoke_confirmation_template`.
    """
    tokens = cast(RevokesTokens, modeladmin).tokens_to_revoke(queryset)
    form = RevokeForm(request.POST if request.POST.get("post") else None)
    if form.is_valid():
        revoke_with_reason(request, modeladmin, tokens, form.cleaned_data["reason"])
        return None
    hidden = [("action", "revoke_tokens"), ("post", "yes")]
    if request.POST.get("select_across") == "1":
        hidden.append(("select_across", "1"))
    hidden += [
        (helpers.ACTION_CHECKBOX_NAME, pk)
        for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
    ]
    subjects = [] if queryset.model is ReferenceToken else list(queryset[:CONFIRMATION_SAMPLE])
    return render_revoke_confirmation(
        request,
        modeladmin,
        title="Revoke these tokens?",
        tokens=tokens,
        form=form,
        hidden=hidden,
        subjects=subjects,
    )

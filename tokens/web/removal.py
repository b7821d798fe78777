"""Profile → an expired or revoked token → Remove from list (issue 20, beyond the anchors).

The token is hidden from its owner's list only: the row, its events and its page stay, for the
audit, the admin and the owner's security log. A working token is revoked, never hidden.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.http import SignedInRequest
from tokens.models import ReferenceToken

Q = TypeVar("Q", bound=QuerySet[ReferenceToken])


def listed(tokens: Q) -> Q:
    """The tokens their owner has not removed from their list."""
    return tokens.filter(removed_from_list_at__isnull=True)


@login_required
@require_POST
def token_remove(request: SignedInRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(
        ReferenceToken.objects.personal_of(request.user).select_related("application"),
        pk=token_id,
    )
    if token.state.code not in ("revoked", "expired"):
        messages.error(
            request,
            f"“{token.description}” ({token.masked}) still works: revoke it first, then it can "
            "be removed from the list.",
        )
        return redirect("token_list")
    ReferenceToken.objects.filter(pk=token.pk, removed_from_list_at__isnull=True).update(
        removed_from_list_at=timezone.now()
    )
    messages.success(
        request,
        f"Removed “{token.description}” ({token.masked}) from your list. Its history is kept "
        "in your security log.",
    )
    return redirect(f"{reverse('token_list')}?show=all")

"""Rotating a token from a posted confirmation, as the profile and the admin both do it.

The steps and their order are the same in both consoles: the form's one-time key first (a stale
or foreign key changes nothing), then sudo mode, then the rotation itself under that key, so a
double click or a replay makes one new token at most.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.debug import sensitive_variables

from accounts.http import signed_in
from common.http import remote_address
from common.once import ALREADY_USED, STALE, FormKeyUsed, form_key_of, used_once
from tokens.domain import lifecycle
from tokens.domain.lifecycle import IssuedToken
from tokens.models import ReferenceToken


@sensitive_variables("issued")
def rotate_posted(
    request: HttpRequest,
    token: ReferenceToken,
    *,
    confirmation: Callable[[], HttpResponse | None],
    back: str,
) -> IssuedToken | HttpResponse:
    """The new token; or the page to answer instead: sudo mode's, or a redirect to `back` with
    a message saying why nothing was made."""
    key = form_key_of(request, request.POST.get("form_key", ""))
    if key is None:
        messages.warning(request, STALE)
        return HttpResponseRedirect(back)
    confirm = confirmation()
    if confirm is not None:
        return confirm
    try:
        with used_once(key):
            issued = lifecycle.rotate(token, by=signed_in(request), ip=remote_address(request))
    except FormKeyUsed:
        messages.warning(request, ALREADY_USED)
        return HttpResponseRedirect(back)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(back)
    return issued

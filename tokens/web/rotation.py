"""Rotating a token from a posted confirmation, as the profile and the admin both do it.

The steps and their order are the same in both consoles: the form's one-time key first (a stale
or foreign key changes nothing), then sudo mode, then the rotation itself under that key, so a
double click or a replay makes one new token at most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.debug import sensitive_variables

from accounts.http import signed_in
from common.http import remote_address
from common.once import ALREADY_USED, STALE, FormKeyUsed, form_key_of, used_once
from tokens.domain import lifecycle
from tokens.domain.expiry import EXPIRY_PRESETS, expiry_in_days, rotation_expiry
from tokens.domain.lifecycle import IssuedToken
from tokens.models import ReferenceToken


@dataclass(frozen=True)
class LifetimeChoice:
    """One lifetime the replacement may be given, and the moment it then stops."""

    days: int
    expires_at: datetime
    default: bool


def lifetime_choices(token: ReferenceToken, now: datetime) -> list[LifetimeChoice]:
    """The lifetimes a rotation of `token` may choose (issue 20, defect 8): the create form's
    presets up to the most a rotation allows (the lifetime the token was given, within its
    application's longest), and that most itself, which is the default."""
    most = (rotation_expiry(token, now) - expiry_in_days(0, now)).days
    days = sorted({d for d in EXPIRY_PRESETS if d < most} | {most})
    return [LifetimeChoice(d, expiry_in_days(d, now), d == most) for d in days]


def posted_lifetime(request: HttpRequest) -> int | None:
    """The lifetime chosen on the confirmation, in days; None: the default (the old one).
    Anything but a whole number of days is refused by `rotate` as too long or too short."""
    raw = request.POST.get("expires_in", "")
    return int(raw) if raw.isdigit() and len(raw) < 6 else None


@sensitive_variables("issued")
def rotate_posted(
    request: HttpRequest,
    token: ReferenceToken,
    *,
    confirmation: Callable[[], HttpResponse | None],
    back: str,
    expires_in_days: int | None = None,
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
            issued = lifecycle.rotate(
                token,
                by=signed_in(request),
                ip=remote_address(request),
                expires_in_days=expires_in_days,
            )
    except FormKeyUsed:
        messages.warning(request, ALREADY_USED)
        return HttpResponseRedirect(back)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(back)
    return issued

"""The rules of token requests: asking, deciding, picking up. Each writes in one transaction.

A refusal is a `RequestRefused` with the sentence to show and the HTTP status that fits it
(404: not yours or not there; 409: no longer in a state that allows it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from approvals import notices
from approvals.models import RequestState, TokenRequest, expiry_days
from tokens.domain import lifecycle
from tokens.domain.expiry import start_of_day_utc, today_utc
from tokens.domain.lifecycle import IssuedToken
from trustedapps.models import Scope, TrustedApplication

logger = logging.getLogger(__name__)


class RequestRefused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def create_request(
    *,
    requester: User,
    application: TrustedApplication,
    scopes: Iterable[Scope],
    lifetime_days: int,
    reason: str,
    description: str = "",
) -> TokenRequest:
    now = timezone.now()
    with transaction.atomic():
        token_request = TokenRequest.objects.create(
            requester=requester,
            application=application,
            lifetime_days=lifetime_days,
            reason=reason.strip(),
            description=description.strip(),
            requested_at=now,
            expires_at=now + timedelta(days=expiry_days()),
        )
        token_request.scopes.set(list(scopes))
    logger.info("Token request %s by user %s", token_request.pk, requester.pk)
    notices.tell_admins(token_request)  # after the commit: a failed mail is only logged
    return token_request


def _locked_open(token_request: TokenRequest, state: str) -> TokenRequest:
    """The request, locked, if it is still in `state` and not expired; else a refusal."""
    locked = TokenRequest.objects.select_for_update().get(pk=token_request.pk)
    current = locked.current_state()
    if current != state:
        label = RequestState(current).label.lower()
        raise RequestRefused(f"This request is {label}: nothing was changed.")
    return locked


def approve(token_request: TokenRequest, *, by: User, reason: str = "") -> TokenRequest:
    return _decide(token_request, by=by, reason=reason, state=RequestState.APPROVED)


def deny(token_request: TokenRequest, *, by: User, reason: str) -> TokenRequest:
    if not reason.strip():
        raise RequestRefused("Say why the request is denied: the requester is told.", 400)
    return _decide(token_request, by=by, reason=reason, state=RequestState.DENIED)


def _decide(token_request: TokenRequest, *, by: User, reason: str, state: str) -> TokenRequest:
    if not by.is_instance_admin:
        raise RequestRefused("Only instance administrators decide token requests.", 403)
    if by.pk == token_request.requester_id:
        # Four eyes: an administrator's own request is decided by another one.
        raise RequestRefused("Your own request is decided by another administrator.", 403)
    now = timezone.now()
    with transaction.atomic():
        locked = _locked_open(token_request, RequestState.REQUESTED)
        locked.state = state
        locked.decided_by = by
        locked.decided_at = now
        locked.decision_reason = reason.strip()
        if state == RequestState.APPROVED:
            # The requester has as long again to pick it up.
            locked.expires_at = now + timedelta(days=expiry_days())
        locked.save()
    logger.info("Token request %s %s by user %s", locked.pk, state, by.pk)
    notices.tell_requester(locked)
    return locked


@sensitive_variables()
def pick_up(token_request: TokenRequest, *, by: User, ip: str | None = None) -> IssuedToken:
    """Mint the approved token, once: its plaintext is only in the returned object."""
    if token_request.requester_id != by.pk:
        raise RequestRefused("No such request.", 404)
    with transaction.atomic():
        locked = _locked_open(token_request, RequestState.APPROVED)
        now = timezone.now()
        try:
            issued = lifecycle.issue_personal(
                user=by,
                application=locked.application,
                expires_at=start_of_day_utc(today_utc(now) + timedelta(days=locked.lifetime_days)),
                scopes=list(locked.scopes.all()),
                description=locked.description or f"Requested #{locked.pk}",
                ip=ip,
                approved=True,
            )
        except Exception as error:
            # A rule changed since the approval (a shorter lifetime, a disabled application).
            messages = getattr(error, "messages", None)
            if messages is None:
                raise
            raise RequestRefused(
                "The token cannot be made as approved: " + " ".join(messages)
            ) from None
        locked.state = RequestState.PICKED_UP
        locked.picked_up_at = now
        locked.token = issued.token
        locked.save(update_fields=["state", "picked_up_at", "token"])
    return issued

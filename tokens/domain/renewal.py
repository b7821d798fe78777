"""Renewing an expired or revoked personal token (issue 20, beyond the anchors): a new token
with the same application, description, scopes and address ranges, and the lifetime the old one
was given, in one step. The old token stays as it was (revoked or expired); the new one is
audited as issued, its event saying which token it renews.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.domain.lifecycle import IssuedToken
from tokens.domain.refusal import refuse
from tokens.models import ReferenceToken, TokenKind


def renewal_refusal(token: ReferenceToken, by: User) -> str | None:
    """Why `by` may not renew `token`, in a sentence; None when they may."""
    if token.kind != TokenKind.PERSONAL or token.user_id != by.pk:
        return "Only the owner of a personal access token may renew it."
    if token.state.code not in ("revoked", "expired"):
        return "Only an expired or revoked token is renewed: rotate a working one instead."
    if token.replacement is not None:
        return "It was replaced by rotating it: its replacement is the token to use."
    return None


def renewal_days(token: ReferenceToken) -> int:
    """The lifetime the renewal gets: the one the old token was given, within what its
    application allows now."""
    application = token.application
    given = token.lifetime_days or application.default_token_lifetime.days
    return min(given, application.max_token_lifetime.days)


def renew(token: ReferenceToken, *, by: User, ip: str | None = None) -> IssuedToken:
    """The new token, shown once; refused (ValidationError) as issuing refuses it."""
    refusal = renewal_refusal(token, by)
    if refusal:
        raise refuse(None, refusal, "not_renewable")
    # Only the scopes its application still allows: a renewal never asks for more.
    allowed = set(token.application.allowed_scopes.values_list("pk", flat=True))
    scopes = [scope for scope in token.scopes.all() if scope.pk in allowed]
    if not scopes:
        raise refuse(None, f"{token.application.name} allows none of its scopes now.", "no_scopes")
    return lifecycle.issue_personal(
        user=by,
        application=token.application,
        expires_at=expiry_in_days(renewal_days(token), timezone.now()),
        scopes=scopes,
        description=token.description,
        ip=ip,
        allowed_ranges=token.allowed_ranges,
        note=f"Renewal of {token.masked}",
    )

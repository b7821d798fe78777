"""The only writers of tokens: issuing, rotating and revoking.

Each checks its rules (`policy`, `expiry`), writes the token and its audit events in one
transaction, then announces the change once (`announce`: log line, counter, notice, cache).
Every entry point comes here (the profile, the admin, the commands, the public endpoints), so
the rules hold for all of them alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from tokens.domain import expiry, lifetime_rules, policy, ranges
from tokens.domain.announce import announce
from tokens.domain.refusal import refuse
from tokens.domain.status import Inactive
from tokens.format import display_hint, hash_token, make_token
from tokens.models import (
    DESCRIPTION_MAX_LENGTH,
    LEAKED,
    ROTATED,
    ReferenceToken,
    TokenEvent,
    TokenKind,
)
from trustedapps.models import Scope, TrustedApplication

Action = TokenEvent.Action


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: the row, and the plaintext that exists only in this object."""

    token: ReferenceToken
    plaintext: str

    def __repr__(self) -> str:  # never let the plaintext reach a log or a traceback
        return f"IssuedToken(token={self.token.pk})"


def issue_personal(
    *,
    user: User,
    application: TrustedApplication,
    expires_at: datetime,
    scopes: Iterable[Scope] | None = None,
    description: str = "",
    ip: str | None = None,
    allowed_ranges: str = "",
    approved: bool = False,
    note: str = "",
) -> IssuedToken:
    """A PAT acts as `user`, who must be allowed by the application's policy (`approved`: for
    an approved token request, issue 23). `note`: the detail of its "issued" event (a renewal
    says of which token, issue 20)."""
    policy.check_personal(user, application, approved=approved)
    return _issue(
        kind=TokenKind.PERSONAL,
        user=user,
        created_by=user,
        application=application,
        expires_at=expires_at,
        scopes=scopes,
        description=description,
        ip=ip,
        allowed_ranges=allowed_ranges,
        note=note,
    )


def issue_service(
    *,
    admin: User,
    application: TrustedApplication,
    expires_at: datetime,
    scopes: Iterable[Scope] | None = None,
    description: str = "",
    ip: str | None = None,
    allowed_ranges: str = "",
) -> IssuedToken:
    """A SAT acts as the application's system user, never as the admin who creates it."""
    return _issue(
        kind=TokenKind.SERVICE,
        user=policy.service_user(admin, application),
        created_by=admin,
        application=application,
        expires_at=expires_at,
        scopes=scopes,
        description=description,
        ip=ip,
        allowed_ranges=allowed_ranges,
    )


# Error reports (DEBUG pages, mails to ADMINS) show no local of this frame: one is the token.
@sensitive_variables()
def _issue(
    *,
    kind: str,
    user: User,
    created_by: User,
    application: TrustedApplication,
    expires_at: datetime,
    scopes: Iterable[Scope] | None,
    description: str,
    ip: str | None,
    allowed_ranges: str = "",
    note: str = "",
) -> IssuedToken:
    now = timezone.now()
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise refuse(
            "description",
            f"A description has at most {DESCRIPTION_MAX_LENGTH} characters.",
            "description_too_long",
        )
    granted = policy.granted_scopes(application, scopes)
    expiry.check_expiry(application, expires_at, now)
    lifetime_rules.check(
        kind, application, created_at=now, chain_started_at=now, expires_at=expires_at
    )
    allowed_ranges = ranges.normalised(allowed_ranges)
    if kind == TokenKind.SERVICE and application.service_tokens_need_ranges and not allowed_ranges:
        raise refuse(
            ranges.FIELD,
            f"{application.name} requires address ranges of its service tokens: name the "
            "ranges (CIDR) it will be used from.",
            "ranges_required",
        )
    plaintext = make_token()
    with transaction.atomic():
        token = ReferenceToken.objects.create(
            kind=kind,
            user=user,
            application=application,
            created_by=created_by,
            description=description,
            token_hash=hash_token(plaintext),
            hint=display_hint(plaintext),
            created_at=now,
            chain_started_at=now,
            expires_at=expires_at,
            allowed_ranges=allowed_ranges,
        )
        token.scopes.set(granted)
        TokenEvent.objects.create(
            token=token, action=Action.ISSUED, actor=created_by, ip=ip, detail=note
        )
    announce(Action.ISSUED, [token], actor=created_by)
    return IssuedToken(token=token, plaintext=plaintext)


@sensitive_variables()
def rotate(
    token: ReferenceToken,
    *,
    by: User | None,
    ip: str | None = None,
    expires_in_days: int | None = None,
    by_holder: bool = False,
) -> IssuedToken:
    """Replace a live token by a new one with the same facts; shown once, the old one revoked.

    `by` is the person who rotates (None: the token itself, or a command). `by_holder`: whoever
    holds the token asks (the API), which its application may forbid. Both happen in one
    transaction, the old row locked first and every check reading the locked row (only `token`'s
    id is taken from the caller's copy): of two rotations at once, the second waits, then finds
    the token revoked and is refused, so exactly one new token comes out. The caller's copy then
    shows the revocation.
    """
    now = timezone.now()
    with transaction.atomic():
        old = (
            ReferenceToken.objects.select_for_update(of=("self",))
            .select_related("user", "application")
            .get(pk=token.pk)
        )
        _check_rotation(old, by, by_holder, now)
        expires_at = expiry.rotation_expiry(old, now, expires_in_days)
        lifetime_rules.check(
            old.kind,
            old.application,
            created_at=now,
            chain_started_at=old.chain_started_at or old.created_at,
            expires_at=expires_at,
        )
        # Revoked first, then issued: a failure in between rolls both back, and the old token
        # is never left revoked without a replacement.
        ReferenceToken.objects.filter(pk=old.pk).update(
            revoked_at=now, revoked_by=by, revocation_reason=ROTATED
        )
        plaintext = make_token()
        new = _replacement(old, plaintext, expires_at, now)
        TokenEvent.objects.create(
            token=old,
            new_token=new,
            action=Action.ROTATED,
            actor=by,
            ip=ip,
            detail=f"{old.masked} replaced by {new.masked}",
        )
    for revoked in (old, token):
        revoked.revoked_at, revoked.revoked_by, revoked.revocation_reason = now, by, ROTATED
        revoked.show_revocation()
    announce(Action.ROTATED, [old], actor=by, replacement=new)
    return IssuedToken(token=new, plaintext=plaintext)


def _check_rotation(old: ReferenceToken, by: User | None, by_holder: bool, now: datetime) -> None:
    # Who first: whoever may not rotate it learns nothing of its state.
    refusal = policy.rotation_refusal(old, by)
    if refusal:
        raise refuse(None, refusal, "not_allowed")
    # A token suspended for its length may be replaced by a shorter one (checked like any).
    reason = (
        None if old.state_at(now).reason == Inactive.LIFETIME_RULE else old.unusable_reason(now)
    )
    if reason:
        raise refuse(None, f"Token {old.masked} cannot be rotated. {reason}", "not_live")
    refusal = policy.holder_rotation_refusal(old) if by_holder else None
    if refusal:
        raise refuse(None, refusal, "holder_rotation_off")


def _replacement(
    old: ReferenceToken, plaintext: str, expires_at: datetime, now: datetime
) -> ReferenceToken:
    """The token that replaces `old`: the same kind, user, application, creator and description,
    and the scopes of it that its application still allows (as the status rule read them)."""
    new = ReferenceToken.objects.create(
        kind=old.kind,
        user=old.user,
        application=old.application,
        # Whoever is responsible for the token stays so (its notices go to them); who rotated
        # it is the rotation event's actor.
        created_by=old.created_by,
        description=old.description,
        token_hash=hash_token(plaintext),
        hint=display_hint(plaintext),
        created_at=now,
        chain_started_at=old.chain_started_at or old.created_at,
        expires_at=expires_at,
        allowed_ranges=old.allowed_ranges,
        rotated_from=old,
    )
    new.scopes.set(Scope.objects.filter(name__in=old.facts.scopes))
    return new


def revoke(
    tokens: QuerySet[ReferenceToken], *, by: User | None, reason: str = "", ip: str | None = None
) -> list[ReferenceToken]:
    """Revoke every token of the queryset not yet revoked; return those it revoked now."""
    now = timezone.now()
    reason = reason[:200]
    with transaction.atomic():
        revoked = list(tokens.filter(revoked_at__isnull=True).select_for_update())
        ReferenceToken.objects.filter(pk__in=[t.pk for t in revoked]).update(
            revoked_at=now, revoked_by=by, revocation_reason=reason
        )
        TokenEvent.objects.bulk_create(
            TokenEvent(token=t, action=Action.REVOKED, actor=by, ip=ip, detail=reason)
            for t in revoked
        )
    announce(Action.REVOKED, revoked, actor=by, reason=reason)
    return revoked


def revoke_token(
    token: ReferenceToken, *, by: User | None, reason: str = "", ip: str | None = None
) -> bool:
    """Revoke one token now; False (and nothing recorded) when it was revoked already. The
    caller's copy then shows the revocation, its own or an earlier one."""
    revoked = revoke(ReferenceToken.objects.filter(pk=token.pk), by=by, reason=reason, ip=ip)
    token.refresh_from_db(fields=["revoked_at", "revoked_by", "revocation_reason"])
    token.show_revocation()
    return bool(revoked)


def revoke_leaked(
    leaked_at: Mapping[int, str], *, source: str, ip: str | None = None
) -> list[ReferenceToken]:
    """Revoke the tokens reported as leaked (`leaked_at`: token id -> where it was seen, or "").

    The reason is `leaked`; each event records who reported it and where. Only the tokens not yet
    revoked are revoked, recorded and announced (their owners get one e-mail naming the place);
    a token revoked already, or reported twice at once, is left as it is. Returns those revoked
    now.
    """
    now = timezone.now()
    with transaction.atomic():
        revoked = list(
            ReferenceToken.objects.filter(pk__in=list(leaked_at), revoked_at__isnull=True)
            .select_for_update()
            .order_by("pk")  # one lock order, so that two reports of the same tokens never deadlock
        )
        ReferenceToken.objects.filter(pk__in=[t.pk for t in revoked]).update(
            revoked_at=now, revoked_by=None, revocation_reason=LEAKED
        )
        TokenEvent.objects.bulk_create(
            TokenEvent(
                token=t,
                action=Action.REVOKED,
                ip=ip,
                detail=LEAKED,
                leak_source=source,
                leak_url=leaked_at[t.pk],
            )
            for t in revoked
        )
    for token in revoked:
        token.revoked_at, token.revoked_by, token.revocation_reason = now, None, LEAKED
    leaks = {t.pk: leaked_at[t.pk] for t in revoked}
    announce(Action.REVOKED, revoked, actor=None, reason=LEAKED, leaked=(source, leaks))
    return revoked

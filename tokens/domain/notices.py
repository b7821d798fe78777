"""E-mails to the owners of tokens: what happened to their keys, never the keys themselves.

A token is named by its hint (`enrt_…ABCD`), description and application. Security notices (a
personal token created for your account, your token rotated, or revoked by someone else) always
go; the expiry notices go to people who have not turned them off in their profile (the warning
that an unused token is about to be revoked always goes). A service token's notices go to the
administrator who created it and to `OPERATIONS_EMAIL`, if set.

The security notices are sent after the change is committed (`announce`), and a mail server that
fails is logged, never raised: the change has happened, and the page (or the API answer) that
shows a new token must not be lost to a mail error. Each message is a template of its own under
templates/emails/ (its subject, its text and its HTML), sent by `common.emails.send`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from django.conf import settings
from django.urls import reverse

from accounts.models import User
from common.emails import send
from tokens.models import ReferenceToken, TokenEvent, TokenKind


def recipients(token: ReferenceToken, *, expiry: bool = False) -> list[str]:
    """Who is told about `token`: its owner, or for a service token its creator and operations.

    `expiry`: an expiry notice, which a person may have turned off.
    """
    people: list[User | None] = (
        [token.user] if token.kind == TokenKind.PERSONAL else [token.created_by]
    )
    found = [
        person.email
        for person in people
        if person is not None
        and person.is_active
        and person.email
        and not (expiry and not person.notify_expiry)
    ]
    if token.kind == TokenKind.SERVICE and settings.OPERATIONS_EMAIL:
        found.append(settings.OPERATIONS_EMAIL)
    return list(dict.fromkeys(found))


def owner_of(token: ReferenceToken) -> User | None:
    """The person a token belongs to: the owner of a personal token, the creator of a SAT."""
    return token.user if token.kind == TokenKind.PERSONAL else token.created_by


def _where(token: ReferenceToken | None = None) -> str:
    base = settings.PORTAL_BASE_URL
    if token is not None and token.kind == TokenKind.PERSONAL:
        path = reverse("token_detail", args=[token.pk])
        return (
            f"{base}{path}" if base else "Profile → Security → Personal access tokens in the portal"
        )
    if token is not None:
        path = reverse("admin:tokens_referencetoken_change", args=[token.pk])
        return f"{base}{path}" if base else "the portal's administration (Tokens)"
    return (
        f"{base}/profile/security/tokens/"
        if base
        else "Profile → Security → Personal access tokens"
    )


def _where_to_create(tokens: list[ReferenceToken]) -> str:
    """Where new tokens are made in place of these: the profile for personal tokens, the
    application's page in the admin for service tokens (issue 20, defect 21)."""
    if any(token.kind == TokenKind.PERSONAL for token in tokens):
        return _where()
    apps = {token.application_id: token.application for token in tokens}
    base = settings.PORTAL_BASE_URL
    if len(apps) == 1:
        (app,) = apps.values()
        path = reverse("admin:trustedapps_trustedapplication_change", args=[app.pk])
        if base:
            return f"{base}{path}"
        return f"{app.name}'s page in the portal's administration (Create service access token)"
    return (
        "each trusted application's page in the portal's administration "
        "(Create service access token)"
    )


def _with_people(tokens: Iterable[ReferenceToken]) -> Iterator[ReferenceToken]:
    """The tokens again, with their users, creators and applications: a few queries in all,
    not three per token, when an administrator revokes thousands at once."""
    ids = [token.pk for token in tokens]
    for start in range(0, len(ids), 500):
        yield from ReferenceToken.objects.filter(pk__in=ids[start : start + 500]).select_related(
            "user", "created_by", "application"
        )


def token_created(token: ReferenceToken) -> None:
    to = recipients(token)
    if to:
        send("token-created", {"token": token, "where": _where(token)}, to, quiet=True)


def token_rotated(old: ReferenceToken, new: ReferenceToken, by: User | None) -> None:
    to = recipients(new)
    if to:
        context = {"old": old, "new": new, "by": by, "where": _where(new)}
        send("token-rotated", context, to, quiet=True)


def tokens_revoked(tokens: Iterable[ReferenceToken], by: User | None, reason: str) -> None:
    """Tell each owner about their tokens that someone else revoked (one message each)."""
    told: dict[str, list[ReferenceToken]] = defaultdict(list)
    for token in _with_people(tokens):
        owner = owner_of(token)
        if by is not None and owner is not None and owner.pk == by.pk:
            continue  # they did it themselves
        for address in recipients(token):
            told[address].append(token)
    for address, revoked in told.items():
        context = {
            "tokens": revoked,
            "by": by,
            "reason": reason,
            "where": _where_to_create(revoked),
        }
        send("tokens-revoked", context, [address], quiet=True)


def tokens_leaked(tokens: Iterable[ReferenceToken], source: str, urls: Mapping[int, str]) -> None:
    """Tell each owner which of their tokens were reported as leaked, and where (one message
    each). Each message is sent on its own: one that fails is logged and the others still go."""
    told: dict[str, list[tuple[ReferenceToken, str]]] = defaultdict(list)
    for token in _with_people(tokens):
        for address in recipients(token):
            told[address].append((token, urls.get(token.pk, "")))
    source_label = TokenEvent.LeakSource(source).label if source else ""
    for address, leaked in told.items():
        context = {"leaked": leaked, "source": source_label, "where": _where()}
        send("tokens-leaked", context, [address], quiet=True)


def expiry_stage_words(stage: int) -> str:
    """How a reminder stage (days before expiry, 0: on expiry) words the tokens' expiry."""
    if stage == 0:
        return "that expired"
    return "expiring tomorrow" if stage == 1 else f"expiring within {stage} days"


def tokens_expiring(address: str, tokens: list[ReferenceToken], stage: int) -> None:
    """The expiry reminder of `stage` (days before expiry; 0: the token has expired); raises when
    it cannot be sent, so that the caller records nothing."""
    context = {
        "tokens": tokens,
        "when": "tomorrow" if stage == 1 else f"within {stage} days",
        "where": _where(tokens[0] if len(tokens) == 1 else None),
    }
    send("tokens-expired" if stage == 0 else "tokens-expiring", context, [address])


def tokens_unused(address: str, tokens: list[ReferenceToken], days: int, revoke_on: date) -> None:
    """The warning that `tokens`, unused for a while, are revoked on `revoke_on` unless used;
    raises when it cannot be sent, so that the caller records nothing."""
    context = {
        "tokens": tokens,
        "days": days,
        "revoke_on": revoke_on,
        "where": _where(tokens[0] if len(tokens) == 1 else None),
    }
    send("tokens-unused", context, [address])

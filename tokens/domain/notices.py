"""E-mails to the owners of tokens: what happened to their keys, never the keys themselves.

A token is named by its hint (`enrt_…ABCD`), description and application. Security notices (a
personal token created for your account, your token rotated, or revoked by someone else) always
go; the expiry notices go to people who have not turned them off in their profile. A service
token's notices go to the administrator who created it and to `OPERATIONS_EMAIL`, if set.

The security notices are sent after the change is committed, and a mail server that fails is
logged, never raised: the change has happened, and the page (or the API answer) that shows a new
token must not be lost to a mail error.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from accounts.models import User
from tokens.models import ExpiryNotice, ReferenceToken, TokenKind

logger = logging.getLogger(__name__)


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


def describe(token: ReferenceToken) -> str:
    expires = f"{token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never"
    return (
        f"- {token.masked}, {token.get_kind_display().lower()} "
        f"“{token.description or 'no description'}” for {token.application.name} "
        f"(expires {expires})"
    )


def _where(token: ReferenceToken | None = None) -> str:
    base = settings.PORTAL_BASE_URL
    if token is not None and token.kind == TokenKind.PERSONAL:
        path = reverse("token_detail", args=[token.pk])
        return f"{base}{path}" if base else "Profile → Security → Tokens in the portal"
    if token is not None:
        path = reverse("admin:tokens_referencetoken_change", args=[token.pk])
        return f"{base}{path}" if base else "the portal's administration (Reference tokens)"
    return f"{base}/profile/security/tokens/" if base else "Profile → Security → Tokens"


def _with_people(tokens: Iterable[ReferenceToken]) -> Iterator[ReferenceToken]:
    """The tokens again, with their users, creators and applications: a few queries in all,
    not three per token, when an administrator revokes thousands at once."""
    ids = [token.pk for token in tokens]
    for start in range(0, len(ids), 500):
        yield from ReferenceToken.objects.filter(pk__in=ids[start : start + 500]).select_related(
            "user", "created_by", "application"
        )


def _who(by: User | None) -> str:
    if by is None:
        return "no signed-in person: a command on the server, or whoever holds the token"
    return by.get_username()


def _send(subject: str, lines: list[str], to: list[str], *, quiet: bool) -> None:
    body = "\n".join(lines) + "\n"
    if not quiet:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception:
        # Only the subject and the count: the change itself is done and committed.
        logger.exception("Could not send the notice %r to %d recipient(s)", subject, len(to))


def token_created(token: ReferenceToken) -> None:
    to = recipients(token)
    if not to:
        return
    _send(
        "A personal access token was created for your account",
        [
            f"A personal access token acting as {token.user.get_username()} was created:",
            "",
            describe(token),
            "",
            "If you did not create it, revoke it at once: " + _where(token),
        ],
        to,
        quiet=True,
    )


def token_rotated(old: ReferenceToken, new: ReferenceToken, by: User | None) -> None:
    to = recipients(new)
    if not to:
        return
    actor = (
        "no signed-in person: the token itself through the API, or a command on the server"
        if by is None
        else by.get_username()
    )
    _send(
        f"Access token {old.masked} was rotated",
        [
            f"Your access token {old.masked} was rotated by {actor}. It no longer works;",
            "its replacement, with the same application, description and scopes, is:",
            "",
            describe(new),
            "",
            "If you did not expect this, revoke the replacement: " + _where(new),
        ],
        to,
        quiet=True,
    )


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
        _send(
            f"{len(revoked)} access token(s) of yours were revoked",
            [
                f"These access tokens were revoked by {_who(by)}:",
                "",
                *(describe(token) for token in revoked),
                "",
                f"Reason given: {reason or '(none)'}",
                "",
                "Anything that used them no longer works. Create new ones where they are still "
                "needed: " + _where(),
            ],
            [address],
            quiet=True,
        )


def tokens_expiring(address: str, tokens: list[ReferenceToken], stage: str) -> None:
    """The expiry notice; raises when it cannot be sent, so that the caller records nothing."""
    when = "tomorrow" if stage == ExpiryNotice.DAY else "within 7 days"
    _send(
        f"{len(tokens)} access token(s) expire {when}",
        [
            f"These access tokens expire {when}. Rotate them before then if they are still "
            "needed (the replacement keeps their application, description and scopes):",
            "",
            *(describe(token) for token in tokens),
            "",
            "Rotate or review them at " + _where(tokens[0] if len(tokens) == 1 else None),
            "",
            "You can turn these expiry notices off under Profile → Notifications.",
        ],
        [address],
        quiet=False,
    )

"""What follows every issue, rotation and revocation, in one place: the security log line, the
Prometheus counter, the owner's notice and the local invalidation of the validation cache.

`lifecycle` calls `announce` once per change, after the change's own transaction. The log line
and the counter are recorded then; the notice and the invalidation wait for the commit (at once
when no outer transaction is open), so a change rolled back tells nobody. Every worker's cache
also hears of the change from the database; this process forgets at once, so that a check it
answers right after the change sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction

from accounts.models import User
from common.logs import security_event
from common.metrics import TOKENS_ISSUED, TOKENS_REVOKED, TOKENS_ROTATED
from tokens.domain import notices
from tokens.models import ReferenceToken, TokenEvent, TokenKind
from tokens.validation.cache import forget_locally

Action = TokenEvent.Action

_COUNTERS = {
    Action.ISSUED: TOKENS_ISSUED,
    Action.ROTATED: TOKENS_ROTATED,
    Action.REVOKED: TOKENS_REVOKED,
}


def announce(
    action: str,
    tokens: list[ReferenceToken],
    *,
    actor: User | None,
    reason: str = "",
    replacement: ReferenceToken | None = None,
    leaked: tuple[str, Mapping[int, str]] | None = None,
) -> None:
    """Announce that `tokens` were issued, revoked, or (one of them) rotated into `replacement`.

    `actor` is the person who acted; None is the token's holder or a command on the server.
    `leaked`: revoked as leaked, (the report's source, token id -> where it was seen); the owners
    get the leak notice instead of the plain revocation one.
    """
    transaction.on_commit(lambda: _after_commit(action, tokens, actor, reason, replacement, leaked))
    counter = _COUNTERS[Action(action)]
    for token in tokens:
        fields = _log_fields(action, token, actor, reason, replacement)
        security_event(f"token.{action}", level=logging.INFO, **fields)
        counter.labels(kind=token.kind).inc()


def _after_commit(
    action: str,
    tokens: list[ReferenceToken],
    actor: User | None,
    reason: str,
    replacement: ReferenceToken | None,
    leaked: tuple[str, Mapping[int, str]] | None = None,
) -> None:
    forget_locally([token.token_hash for token in tokens])
    if action == Action.ISSUED:
        for token in tokens:
            if token.kind == TokenKind.PERSONAL:
                notices.token_created(token)
    elif action == Action.ROTATED and replacement is not None:
        notices.token_rotated(tokens[0], replacement, actor)
    elif action == Action.REVOKED and tokens and leaked is not None:
        notices.tokens_leaked(tokens, *leaked)
    elif action == Action.REVOKED and tokens:
        notices.tokens_revoked(tokens, actor, reason)


def _log_fields(
    action: str,
    token: ReferenceToken,
    actor: User | None,
    reason: str,
    replacement: ReferenceToken | None,
) -> dict[str, object]:
    """The fields of the security log line, in the order operators have always read them."""
    fields: dict[str, object] = {"token_id": token.pk}
    if replacement is not None:
        fields["new_token_id"] = replacement.pk
    fields.update(token_kind=token.kind, token_hint=token.hint)
    if replacement is not None:
        fields["new_token_hint"] = replacement.hint
    fields["user_id"] = token.user_id
    if action == Action.ISSUED:
        fields["application"] = token.application.application_uri
    fields["actor"] = actor.username if actor else None
    if action == Action.REVOKED:
        fields["reason"] = reason
    return fields

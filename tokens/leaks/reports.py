"""Leaked tokens reported by anyone: a secret scanner (GitHub, GitLab), the person who found one,
or `scan_for_tokens --revoke`. One function for all of them, so every source gets the same answer.

The checksum comes first (a string that is not a token costs nothing), then one query by hash
for the whole batch, then one revocation for every live token found (`lifecycle.revoke_leaked`:
the reason `leaked`, the source and the URL on the audit event, one e-mail per owner).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from common.metrics import LEAK_REPORTS
from tokens.domain import lifecycle
from tokens.format import hash_token, is_well_formed
from tokens.models import LEAK_URL_MAX_LENGTH, ReferenceToken, TokenEvent

Source = TokenEvent.LeakSource

_URL = URLValidator(schemes=["http", "https"])


class Outcome(enum.StrEnum):
    REVOKED = "revoked"  # live until this report
    ALREADY_REVOKED = "already_revoked"  # ours, but revoked before (or reported twice at once)
    UNKNOWN = "unknown"  # well-formed, but no token of ours
    MALFORMED = "malformed"  # not a token at all (shape or checksum)

    @property
    def true_positive(self) -> bool:
        """A real token of this portal: what the scanners call a true positive."""
        return self in (Outcome.REVOKED, Outcome.ALREADY_REVOKED)


@dataclass(frozen=True)
class Report:
    """One token seen somewhere; `url` is where (absolute http(s), or "")."""

    token: str = field(repr=False)
    url: str = ""


def leak_url(value: object) -> str:
    """The place a token was seen, as kept on its audit event: an absolute http(s) URL of at most
    LEAK_URL_MAX_LENGTH characters. ValidationError (with a sentence to show) otherwise."""
    if not isinstance(value, str):
        raise ValidationError("The url must be a string.")
    if len(value) > LEAK_URL_MAX_LENGTH:
        raise ValidationError(f"The url has more than {LEAK_URL_MAX_LENGTH} characters.")
    if not value.isprintable():
        # NUL, other controls, lone surrogates: the database would refuse them (a 500), and a
        # person reading the history page must see every character of it.
        raise ValidationError("The url holds a control or invisible character.")
    try:
        _URL(value)
    except ValidationError:
        raise ValidationError("The url must be an absolute http:// or https:// URL.") from None
    return value


def lenient_url(value: object) -> str:
    """A scanner's URL, or "" when it is not one we keep: an odd location never stops a
    revocation (the token is what matters)."""
    try:
        return leak_url(value)
    except ValidationError:
        return ""


def report_leaks(reports: Sequence[Report], *, source: str, ip: str | None = None) -> list[Outcome]:
    """Revoke every live token of `reports` as leaked; the outcome of each report, in order."""
    by_hash = {hash_token(r.token): r for r in reports if is_well_formed(r.token)}
    found = {
        token.token_hash: token
        for token in ReferenceToken.objects.filter(token_hash__in=list(by_hash)).only(
            "pk", "token_hash", "revoked_at"
        )
    }
    live = {t.pk: by_hash[h].url for h, t in found.items() if t.revoked_at is None}
    revoked_now = (
        {t.pk for t in lifecycle.revoke_leaked(live, source=source, ip=ip)} if live else set()
    )
    outcomes = []
    for report in reports:
        outcome = _outcome(report, found, revoked_now)
        LEAK_REPORTS.labels(source=source, outcome=outcome).inc()
        outcomes.append(outcome)
    return outcomes


def _outcome(report: Report, found: dict[str, ReferenceToken], revoked_now: set[int]) -> Outcome:
    if not is_well_formed(report.token):
        return Outcome.MALFORMED
    token = found.get(hash_token(report.token))
    if token is None:
        return Outcome.UNKNOWN
    # The same token twice in one batch: the first report revoked it, so both say so.
    return Outcome.REVOKED if token.pk in revoked_now else Outcome.ALREADY_REVOKED

"""Whether a token is usable now and, if not, why: the one status rule.

Every reader asks this module: the validation URL and `/api/tokens/self`
(`tokens.validation.checks`), and the pages and the commands (`ReferenceToken.state`). All of them
read the facts from the same SQL (`tokens.validation.lookup`), so what a page says about a token
is what a resource server is told. A new rule is one reason here, and its data: one field of
`TokenFacts` and one column of the lookup.

Pure: no database, no clock of its own (`now` is given), no Django settings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from trustedapps.models import TokenPolicy

# Kept as strings (not tokens.models.TokenKind) so this module imports no model of its own app.
PERSONAL = "personal"
SERVICE = "service"


class Inactive(enum.StrEnum):
    """Why a token does not validate. The order of the members is the order the rule checks."""

    REVOKED = "revoked"
    EXPIRED = "expired"
    SYSTEM_USER_REMOVED = "system_user_removed"
    USER_INACTIVE = "user_inactive"
    APPLICATION_DISABLED = "application_disabled"
    POLICY = "policy"
    NO_SCOPE = "no_scope"
    NO_SERVER_SCOPE = "no_server_scope"


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """Everything the rule needs to know about one token, at the moment it was read.

    The field order is also the column order of the lookup's SQL (`tokens.validation.lookup`
    generates its column list from `fields(TokenFacts)`), so the two cannot disagree.
    """

    token_id: int
    kind: str
    user_id: int
    application_id: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    username: str
    user_is_active: bool
    user_is_superuser: bool
    # Only asked where it matters (a person's token for an administrators-only application).
    user_holds_admin_permission: bool
    user_system_application_id: int | None
    application_uri: str
    application_enabled: bool
    token_policy: str
    application_has_system_user: bool
    # The token's scopes that its application still allows ...
    scopes: tuple[str, ...] = ()
    # ... and, when a resource server asks, those of them that it owns (None: the holder asks).
    server_scopes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class TokenState:
    """The answer of the rule: active with these scopes, or inactive for one reason."""

    kind: str
    reason: Inactive | None
    scopes: tuple[str, ...] = ()

    @property
    def is_active(self) -> bool:
        return self.reason is None

    @property
    def code(self) -> str:
        """`active`, `revoked`, `expired` or `suspended`: for badges and filters."""
        if self.reason is None:
            return "active"
        if self.reason in (Inactive.REVOKED, Inactive.EXPIRED):
            return self.reason.value
        return "suspended"

    @property
    def label(self) -> str:
        """What a person reads: "Active", "Revoked", "Suspended: ..."."""
        if self.reason is None:
            return "Active"
        if self.reason in (Inactive.REVOKED, Inactive.EXPIRED):
            return self.reason.value.capitalize()
        return f"Suspended: {self.explanation}"

    @property
    def explanation(self) -> str:
        kind = "personal" if self.kind == PERSONAL else "service"
        return {
            None: "",
            Inactive.REVOKED: "it was revoked",
            Inactive.EXPIRED: "it has expired",
            Inactive.SYSTEM_USER_REMOVED: "the application no longer has a system user",
            Inactive.USER_INACTIVE: "its user is inactive",
            Inactive.APPLICATION_DISABLED: "the application is disabled",
            Inactive.POLICY: f"application policy no longer allows {kind} access tokens",
            Inactive.NO_SCOPE: "the application no longer allows any of its scopes",
            Inactive.NO_SERVER_SCOPE: "it has no scope that this resource server owns",
        }[self.reason]


def evaluate(facts: TokenFacts, now: datetime) -> TokenState:
    """Apply the active rule of the design to `facts` at `now`."""
    reason = _inactive_reason(facts, now)
    if reason is not None:
        return TokenState(facts.kind, reason)
    scopes = facts.scopes if facts.server_scopes is None else facts.server_scopes
    return TokenState(facts.kind, None, tuple(sorted(scopes)))


def _inactive_reason(facts: TokenFacts, now: datetime) -> Inactive | None:
    if facts.revoked_at is not None:
        return Inactive.REVOKED
    if facts.expires_at is not None and now >= facts.expires_at:
        return Inactive.EXPIRED
    if facts.kind == SERVICE and not (
        facts.application_has_system_user
        and facts.user_system_application_id == facts.application_id
    ):
        return Inactive.SYSTEM_USER_REMOVED
    if not facts.user_is_active:
        return Inactive.USER_INACTIVE
    if not facts.application_enabled:
        return Inactive.APPLICATION_DISABLED
    if not _policy_allows(facts):
        return Inactive.POLICY
    if not facts.scopes:
        return Inactive.NO_SCOPE
    if facts.server_scopes is not None and not facts.server_scopes:
        return Inactive.NO_SERVER_SCOPE
    return None


_POLICIES = {policy.value: policy for policy in TokenPolicy}


def _policy_allows(facts: TokenFacts) -> bool:
    # A dictionary lookup: calling the enum costs more than the rest of the rule (hot path).
    policy = _POLICIES.get(facts.token_policy) or TokenPolicy(facts.token_policy)
    if facts.kind == SERVICE:
        return policy.allows_service()
    if facts.user_system_application_id is not None:
        return False  # a system user never holds a personal token
    return policy.allows_personal(
        by_admin=facts.user_is_superuser or facts.user_holds_admin_permission
    )

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
import functools
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from trustedapps.models import RuleMode, TokenPolicy

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
    LIFETIME_RULE = "lifetime_rule"
    RANGES_REQUIRED = "ranges_required"
    NO_SCOPE = "no_scope"
    NO_SERVER_SCOPE = "no_server_scope"
    # Only where an address is checked (the validation URL, /api/tokens/self): a property of the
    # request, not of the token, so the pages never show it as the token's state.
    ADDRESS = "address"


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
    # The lifetime rules (issue 23): when its rotation chain began, and the rules of the
    # instance and of its application for its kind of token (None: nobody set any).
    chain_started_at: datetime | None = None
    instance_lifetime_mode: str | None = None
    instance_lifetime_days: int | None = None
    instance_expiry_mode: str | None = None
    instance_chain_mode: str | None = None
    instance_chain_days: int | None = None
    app_lifetime_mode: str | None = None
    app_lifetime_days: int | None = None
    app_expiry_mode: str | None = None
    app_chain_mode: str | None = None
    app_chain_days: int | None = None
    # Address ranges (issue 23): the CIDR ranges it may be used from, space-separated ("" for
    # anywhere), and whether its application requires ranges of its service tokens.
    allowed_ranges: str = ""
    application_requires_ranges: bool = False
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
    # Active, but a lifetime rule in report mode would refuse it (counted, never blocked).
    would_refuse: bool = False

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
            Inactive.LIFETIME_RULE: "longer than this instance allows",
            Inactive.RANGES_REQUIRED: "its application requires address ranges of service tokens",
            Inactive.NO_SCOPE: "the application no longer allows any of its scopes",
            Inactive.NO_SERVER_SCOPE: "it has no scope that this resource server owns",
            Inactive.ADDRESS: "it was used from an address outside its ranges",
        }[self.reason]


# `evaluate`'s address when none is checked (the pages, the commands).
UNCHECKED = "unchecked"


def evaluate(facts: TokenFacts, now: datetime, client_ip: str | None = UNCHECKED) -> TokenState:
    """Apply the active rule of the design to `facts` at `now`; with `client_ip` (None: no
    address was given, which a token restricted to ranges fails) its address ranges too."""
    broken = lifetime_breaches(facts)
    reason = _inactive_reason(facts, now, broken)
    if reason is None and client_ip != UNCHECKED and not address_allowed(facts, client_ip):
        reason = Inactive.ADDRESS
    if reason is not None:
        return TokenState(facts.kind, reason)
    scopes = facts.scopes if facts.server_scopes is None else facts.server_scopes
    reported = any(rule.mode == RuleMode.REPORT for rule in broken)
    return TokenState(facts.kind, None, tuple(sorted(scopes)), would_refuse=reported)


def _inactive_reason(
    facts: TokenFacts, now: datetime, broken: list[LifetimeRule]
) -> Inactive | None:
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
    if any(rule.mode == RuleMode.ENFORCE for rule in broken):
        return Inactive.LIFETIME_RULE
    if facts.kind == SERVICE and facts.application_requires_ranges and not facts.allowed_ranges:
        return Inactive.RANGES_REQUIRED
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


# --- Lifetime rules (issue 23) ------------------------------------------------------------------

LIFETIME = "lifetime"
EXPIRY = "expiry"
CHAIN = "chain"
INSTANCE = "instance"
APPLICATION = "application"


@dataclass(frozen=True, slots=True)
class LifetimeRule:
    """One lifetime rule that is on: whose it is (the instance's or the application's), which
    (longest lifetime, expiry required, longest rotation chain), its days and its mode."""

    source: str
    rule: str
    mode: str
    days: int | None = None


def rules_of(facts: TokenFacts) -> list[LifetimeRule]:
    """The lifetime rules on for this token's kind, the instance's and its application's."""
    found: list[LifetimeRule] = []
    if not _any_mode_set(facts):
        return found  # the common case, on every check: no rule set anywhere
    for source, prefix in ((INSTANCE, "instance"), (APPLICATION, "app")):
        for rule in (LIFETIME, EXPIRY, CHAIN):
            mode = getattr(facts, f"{prefix}_{rule}_mode")
            days = getattr(facts, f"{prefix}_{rule}_days", None)
            if mode in (RuleMode.REPORT, RuleMode.ENFORCE) and (rule == EXPIRY or days):
                found.append(LifetimeRule(source, rule, mode, days))
    return found


def _any_mode_set(facts: TokenFacts) -> bool:
    return any(
        mode in (RuleMode.REPORT, RuleMode.ENFORCE)
        for mode in (
            facts.instance_lifetime_mode,
            facts.instance_expiry_mode,
            facts.instance_chain_mode,
            facts.app_lifetime_mode,
            facts.app_expiry_mode,
            facts.app_chain_mode,
        )
    )


def breaches(
    rules: list[LifetimeRule],
    *,
    created_at: datetime,
    chain_started_at: datetime | None,
    expires_at: datetime | None,
) -> list[LifetimeRule]:
    """The rules a token with these dates breaks. Both sources are judged, so the stricter wins.

    Lifetimes count whole days (UTC) as tokens.domain.expiry does: from the day a token (or its
    rotation chain) began to the day it stops. A token that never expires breaks every rule.
    """
    broken = []
    for rule in rules:
        if expires_at is None:
            broken.append(rule)
        elif rule.rule == LIFETIME and rule.days is not None:
            if _days_between(created_at, expires_at) > rule.days:
                broken.append(rule)
        elif (
            rule.rule == CHAIN
            and rule.days is not None
            and _days_between(chain_started_at or created_at, expires_at) > rule.days
        ):
            broken.append(rule)
    return broken


def lifetime_breaches(facts: TokenFacts) -> list[LifetimeRule]:
    return breaches(
        rules_of(facts),
        created_at=facts.created_at,
        chain_started_at=facts.chain_started_at,
        expires_at=facts.expires_at,
    )


def _days_between(start: datetime, end: datetime) -> int:
    return max(1, (end.astimezone(UTC).date() - start.astimezone(UTC).date()).days)


# --- Address ranges (issue 23) --------------------------------------------------------------------


def address_allowed(facts: TokenFacts, client_ip: str | None) -> bool:
    """Whether a token may be used from `client_ip`: anywhere when it has no ranges; else only
    from an address inside one of them (none given: refused, failing closed). In memory."""
    if not facts.allowed_ranges:
        return True
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 client seen through an IPv6 socket
    return any(address in network for network in networks(facts.allowed_ranges))


@functools.lru_cache(maxsize=4096)
def networks(ranges: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The stored ranges, parsed once per distinct list (the hot path checks many times)."""
    return tuple(ipaddress.ip_network(text, strict=False) for text in ranges.split())

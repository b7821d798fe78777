"""The lifetime rules (issue 23) when a token is issued or rotated: its dates against the enforced
rules of the instance and of its application, refused with the limit named.

Which rules a token breaks is the status rule's to say (`tokens.domain.status.breaches`): the
same function suspends a token at use, so a token these checks let through is never suspended by
them on its first use. Rules in report mode block nothing here either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tokens.domain.refusal import refuse
from tokens.domain.status import (
    CHAIN,
    EXPIRY,
    INSTANCE,
    LIFETIME,
    LifetimeRule,
    breaches,
)
from trustedapps.models import InstanceTokenPolicy, LifetimeRules, RuleMode, TrustedApplication

_PREFIX = {INSTANCE: "instance", "application": "app"}


def rules_for(
    kind: str, application: TrustedApplication, instance: InstanceTokenPolicy | None = None
) -> list[LifetimeRule]:
    """The rules that are on for `kind` of token of `application` (the instance's first)."""
    instance = instance or InstanceTokenPolicy.current()
    found = []
    for source, owner in ((INSTANCE, instance), ("application", application)):
        found += source_rules(source, kind, owner)
    return found


def source_rules(source: str, kind: str, owner: LifetimeRules) -> list[LifetimeRule]:
    found = []
    for rule in (LIFETIME, EXPIRY, CHAIN):
        mode = getattr(owner, f"{kind}_{rule}_mode")
        days = getattr(owner, f"{kind}_{rule}_days", None)
        if mode != RuleMode.OFF and (rule == EXPIRY or days):
            found.append(LifetimeRule(source, rule, mode, days))
    return found


def effective(rules: list[LifetimeRule], rule: str) -> LifetimeRule | None:
    """The strictest rule of this name: enforced before reported, then the fewest days."""
    candidates = [r for r in rules if r.rule == rule]
    if not candidates:
        return None
    return min(candidates, key=lambda r: (r.mode != RuleMode.ENFORCE, r.days or 0))


def describe(rule: LifetimeRule, kind: str, application: TrustedApplication) -> str:
    """The limit in a sentence: "This instance allows personal access tokens of at most 30 days"."""
    who = "This instance" if rule.source == INSTANCE else application.name
    tokens = f"{kind} access tokens"
    if rule.rule == LIFETIME:
        return f"{who} allows {tokens} of at most {rule.days} days"
    if rule.rule == CHAIN:
        return f"{who} allows a rotation chain of {tokens} of at most {rule.days} days in all"
    return f"{who} requires {tokens} to have an expiry date"


def check(
    kind: str,
    application: TrustedApplication,
    *,
    created_at: datetime,
    chain_started_at: datetime,
    expires_at: datetime | None,
) -> None:
    """Refuse dates that an enforced rule forbids, naming the strictest limit broken."""
    broken = [
        rule
        for rule in breaches(
            rules_for(kind, application),
            created_at=created_at,
            chain_started_at=chain_started_at,
            expires_at=expires_at,
        )
        if rule.mode == RuleMode.ENFORCE
    ]
    if not broken:
        return
    rule = min(broken, key=lambda r: r.days or 0)
    message = describe(rule, kind, application) + "."
    if rule.rule == CHAIN and rule.days:
        latest = chain_started_at.date() + timedelta(days=rule.days)
        message += (
            f" This token's chain began on {chain_started_at:%-d %b %Y}, so it may expire on "
            f"{latest:%-d %b %Y} at the latest: issue a new token instead of rotating."
        )
    raise refuse("expires_at", message, f"lifetime_rule_{rule.rule}")

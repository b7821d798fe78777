"""The lifetime rules (issue 23) when a token is issued or rotated: its dates against the enforced
rules of the instance and of its application, refused with the limit named.

Which rules a token breaks is the status rule's to say (`tokens.domain.status.breaches`): the
same function suspends a token at use, so a token these checks let through is never suspended by
them on its first use. Rules in report mode block nothing here either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from tokens.domain.refusal import refuse
from tokens.domain.status import (
    CHAIN,
    EXPIRY,
    INSTANCE,
    LIFETIME,
    Inactive,
    LifetimeRule,
    TokenFacts,
    breaches,
    evaluate,
)
from tokens.models import ReferenceToken
from tokens.validation.lookup import facts_by_id
from trustedapps.models import (
    TOKEN_KINDS,
    InstanceTokenPolicy,
    LifetimeRules,
    RuleMode,
    TrustedApplication,
)

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


# --- Report-only: what a rule would block --------------------------------------------------------

_RULE_COLUMNS = ("lifetime_mode", "lifetime_days", "expiry_mode", "chain_mode", "chain_days")
# Tokens read at once when counting: one lookup statement each (tokens.validation.lookup).
_BATCH = 500


def _live_facts(tokens: Q, now: datetime) -> Iterator[TokenFacts]:
    ids = list(
        ReferenceToken.objects.live(now).filter(tokens).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), _BATCH):
        yield from facts_by_id(ids[start : start + _BATCH]).values()


def _with_modes(mode: str) -> Q:
    """Sources whose rules for a kind are in `mode`, as a condition on tokens."""
    condition = Q(pk__in=[])
    instance = InstanceTokenPolicy.current()
    for kind in TOKEN_KINDS:
        fields = [f"{kind}_{rule}_mode" for rule in (LIFETIME, EXPIRY, CHAIN)]
        if any(getattr(instance, field) == mode for field in fields):
            condition |= Q(kind=kind)
        else:
            on_app = Q()
            for field in fields:
                on_app |= Q(**{f"application__{field}": mode})
            condition |= Q(kind=kind) & on_app
    return condition


def report_rules_on() -> bool:
    """Whether any rule, the instance's or an application's, is in report mode."""
    fields = [f"{kind}_{rule}_mode" for kind in TOKEN_KINDS for rule in (LIFETIME, EXPIRY, CHAIN)]
    instance = InstanceTokenPolicy.current()
    if any(getattr(instance, field) == RuleMode.REPORT for field in fields):
        return True
    on_app = Q()
    for field in fields:
        on_app |= Q(**{field: RuleMode.REPORT})
    return TrustedApplication.objects.filter(on_app).exists()


def would_refuse_ids(now: datetime | None = None) -> list[int]:
    """The live tokens that work now but that a rule in report mode would refuse: what the
    dashboard counts, and exactly what enforcing those rules would suspend.

    Only tokens of a kind and application that some report-mode rule concerns are read, each
    through the status rule's own facts (one statement for each 500)."""
    now = now or timezone.now()
    return [
        facts.token_id
        for facts in _live_facts(_with_modes(RuleMode.REPORT), now)
        if evaluate(facts, now).would_refuse
    ]


def newly_blocked_ids(
    owner: LifetimeRules, *, application: TrustedApplication | None = None, now=None
) -> list[int]:
    """The live tokens active now that `owner`'s rules, as they would be saved, would suspend:
    the instance's (`application` None) or that application's. What confirming asks about."""
    now = now or timezone.now()
    prefix = "app" if application is not None else "instance"
    tokens = Q(application=application) if application is not None else Q()
    blocked = []
    for facts in _live_facts(tokens, now):
        if not evaluate(facts, now).is_active:
            continue
        proposed = {
            f"{prefix}_{column}": getattr(owner, f"{facts.kind}_{column}")
            for column in _RULE_COLUMNS
        }
        if evaluate(dataclasses.replace(facts, **proposed), now).reason == Inactive.LIFETIME_RULE:
            blocked.append(facts.token_id)
    return blocked


def newly_enforced(before: LifetimeRules, after: LifetimeRules) -> list[str]:
    """The rules `after` enforces that `before` did not (field names)."""
    return [
        f"{kind}_{rule}_mode"
        for kind in TOKEN_KINDS
        for rule in (LIFETIME, EXPIRY, CHAIN)
        if getattr(after, f"{kind}_{rule}_mode") == RuleMode.ENFORCE
        and getattr(before, f"{kind}_{rule}_mode") != RuleMode.ENFORCE
    ]

"""The admin page "Token policies": the instance's lifetime rules, its expiry reminder schedule
and its limit on unused tokens (issue 23), one row.

The list is skipped: the section's link opens the one page, whether or not a rule was ever saved.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from tokens.domain.lifetime_rules import newly_blocked_ids, newly_enforced
from trustedapps.admin import (
    LifetimeRulesForm,
    RuleAuditMixin,
    effective_rules,
    rule_fieldsets,
)
from trustedapps.models import InstanceTokenPolicy, LifetimeRules, RuleMode, TrustedApplication

CONFIRM_FIELDSET: Any = (
    "Confirm",
    {
        "fields": ["confirm_enforcing"],
        "description": "Enforcing a rule suspends, at once, every live token that breaks it.",
    },
)


class ConfirmEnforcingForm(LifetimeRulesForm):
    """Switching a rule to enforce (or tightening an enforced one) asks for confirmation, with
    the number of live tokens it suspends at once: nobody learns the blast radius afterwards."""

    confirm_enforcing = forms.BooleanField(
        label="Enforce now",
        required=False,
        help_text="Tick to confirm, once the number of tokens this suspends has been shown.",
    )

    def clean(self):
        cleaned = super().clean() or {}
        if not any(name in self.changed_data for name in LifetimeRules.RULE_FIELDS):
            return cleaned
        proposed = copy.copy(self.instance)
        for name in LifetimeRules.RULE_FIELDS:
            if name in cleaned:
                value = cleaned[name]
                setattr(proposed, name, value or (RuleMode.OFF if name.endswith("_mode") else None))
        newly = newly_enforced(self.instance, proposed)
        application = proposed if isinstance(proposed, TrustedApplication) else None
        if application is not None and application.pk is None:
            return cleaned  # a new application has no tokens
        blocked = newly_blocked_ids(proposed, application=application)
        if (newly or blocked) and not cleaned.get("confirm_enforcing"):
            n = len(blocked)
            raise ValidationError(
                f"Enforcing these rules suspends {n} live token{'' if n == 1 else 's'} now. "
                "Tick “Enforce now” and save again to confirm.",
                code="confirm_enforcing",
            )
        return cleaned


class InstanceTokenPolicyForm(ConfirmEnforcingForm):
    # The schedule and the unused-token limit too (issue 23): a form without them keeps them.
    kept_when_missing = (*LifetimeRules.RULE_FIELDS, *InstanceTokenPolicy.SCHEDULE_FIELDS)


SCHEDULE_FIELDSET: Any = (
    "Expiry reminders and unused tokens",
    {
        "fields": list(InstanceTokenPolicy.SCHEDULE_FIELDS),
        "description": "The command notify_expiring_tokens sends the reminders, "
        "revoke_unused_tokens warns and revokes; run both hourly (docs/policies.md).",
    },
)


@admin.register(InstanceTokenPolicy)
class InstanceTokenPolicyAdmin(RuleAuditMixin, admin.ModelAdmin):
    form = InstanceTokenPolicyForm
    fieldsets = [*rule_fieldsets(), SCHEDULE_FIELDSET, CONFIRM_FIELDSET]
    audited_fields = (*LifetimeRules.RULE_FIELDS, *InstanceTokenPolicy.SCHEDULE_FIELDS)
    audit_heading = "Changed token policies"
    readonly_fields = ["effective_personal", "effective_service"]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return HttpResponseRedirect(
            reverse("admin:trustedapps_instancetokenpolicy_change", args=[1])
        )

    def get_object(self, request, object_id, from_field=None):
        return InstanceTokenPolicy.current() if str(object_id) == "1" else None

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def response_change(self, request, obj):
        # Back to the page itself: there is no list to return to.
        self.message_user(request, "The token policies were saved.")
        return HttpResponseRedirect(request.path)

    @admin.display(description="in force")
    def effective_personal(self, policy: InstanceTokenPolicy) -> str:
        return effective_rules("personal", [("instance", policy)])

    @admin.display(description="in force")
    def effective_service(self, policy: InstanceTokenPolicy) -> str:
        return effective_rules("service", [("instance", policy)])

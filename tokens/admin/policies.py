"""The admin page "Token policies": the instance's lifetime rules (issue 23), one row.

The list is skipped: the section's link opens the one page, whether or not a rule was ever saved.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from trustedapps.admin import RuleAuditMixin, effective_rules, rule_fieldsets
from trustedapps.models import InstanceTokenPolicy


@admin.register(InstanceTokenPolicy)
class InstanceTokenPolicyAdmin(RuleAuditMixin, admin.ModelAdmin):
    fieldsets = rule_fieldsets()
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

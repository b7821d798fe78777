"""Token requests in the admin: the list (pending first by the filter), and a decision page per
request (approve, or deny with a reason), in sudo mode and recorded in the admin's history."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.sudo import admin_confirmation_needed
from approvals import domain
from approvals.models import REASON_MAX_LENGTH, RequestState, TokenRequest
from common.admin import ReadOnlyAdmin


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("deny", "Deny")], widget=forms.RadioSelect
    )
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to deny: the requester is told.",
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("decision") == "deny" and not data.get("reason", "").strip():
            self.add_error("reason", "Say why the request is denied: the requester is told.")
        return data


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return RequestState.choices

    def queryset(self, request, queryset):
        from django.utils import timezone

        value, now = self.value(), timezone.now()
        if value is None:
            return queryset
        open_states = [RequestState.REQUESTED, RequestState.APPROVED]
        if value == RequestState.EXPIRED:
            return queryset.filter(state__in=open_states, expires_at__lte=now) | queryset.filter(
                state=RequestState.EXPIRED
            )
        if value in open_states:
            return queryset.filter(state=value, expires_at__gt=now)
        return queryset.filter(state=value)


@admin.register(TokenRequest)
class TokenRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "requester",
        "application",
        "lifetime",
        "state_label",
        "decided_by",
        "decide_link",
    ]
    list_filter = [StateFilter]
    list_select_related = ["requester", "application", "decided_by"]
    search_fields = ["requester__username", "application__name", "reason"]
    fields = [
        "requester",
        "application",
        "scope_names",
        "lifetime",
        "description",
        "reason",
        "state_label",
        "requested_at",
        "expires_at",
        "decided_by",
        "decided_at",
        "decision_reason",
        "picked_up_at",
        "decide_link",
    ]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_instance_admin

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.display(description="lifetime")
    def lifetime(self, obj: TokenRequest) -> str:
        return f"{obj.lifetime_days} day{'s' if obj.lifetime_days != 1 else ''}"

    @admin.display(description="scopes")
    def scope_names(self, obj: TokenRequest) -> str:
        return ", ".join(scope.name for scope in obj.scopes.all())

    @admin.display(description="state")
    def state_label(self, obj: TokenRequest) -> str:
        return obj.current_state_label

    @admin.display(description="decision")
    def decide_link(self, obj: TokenRequest) -> str:
        if obj.current_state() != RequestState.REQUESTED:
            return "—"
        url = reverse("admin:approvals_tokenrequest_decide", args=[quote(obj.pk)])
        return format_html('<a href="{}">Approve or deny</a>', url)

    def get_urls(self):
        decide = path(
            "<path:object_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="approvals_tokenrequest_decide",
        )
        return [decide, *super().get_urls()]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        change_url = reverse("admin:approvals_tokenrequest_change", args=[quote(obj.pk)])
        form = DecisionForm(request.POST if request.method == "POST" else None)
        status = 200
        if form.is_valid():
            approving = form.cleaned_data["decision"] == "approve"
            confirm = admin_confirmation_needed(
                self,
                request,
                obj,
                action=f"{'approve' if approving else 'deny'} the token request #{obj.pk}",
            )
            if confirm is not None:
                return confirm
            reason = form.cleaned_data["reason"]
            try:
                if approving:
                    decided = domain.approve(obj, by=request.user, reason=reason)  # type: ignore[arg-type]
                else:
                    decided = domain.deny(obj, by=request.user, reason=reason)  # type: ignore[arg-type]
            except domain.RequestRefused as refused:
                self.message_user(request, refused.message, messages.ERROR)
                return HttpResponseRedirect(change_url)
            # The audit: the admin's history of the request says who decided what, and why.
            self.log_change(
                request, decided, f"{decided.get_state_display()}: {reason or 'no reason given'}"
            )
            self.message_user(
                request,
                f"{decided} was {decided.get_state_display().lower()}; the requester is told.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:approvals_tokenrequest_changelist"))
        if form.is_bound:
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "change_url": change_url,
            "title": f"Decide {obj}",
            "form": form,
            "scopes": ", ".join(scope.name for scope in obj.scopes.all()),
        }
        return TemplateResponse(request, "admin/approvals/decide.html", context, status=status)

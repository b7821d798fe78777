"""Trusted applications, scopes and resource servers.

Their tokens (counts, the token table, "Create service access token") are added by
tokens.admin.applications, which extends TrustedApplicationAdmin: this app knows nothing of tokens.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_variables

from accounts.sudo import admin_confirmation_needed, admin_form_confirmation_needed
from common.admin import object_page
from common.http import no_store
from common.logs import security_event
from trustedapps.forms import ResourceServerForm, RotateSecretForm
from trustedapps.models import (
    TOKEN_KINDS,
    InstanceTokenPolicy,
    LifetimeRules,
    ResourceServer,
    RuleMode,
    Scope,
    TrustedApplication,
)

# --- Token lifetime rules (issue 23): their fieldsets, effective rules and audit ---------------


def rule_fieldsets(extra: tuple[str, ...] = ()) -> list:
    """One fieldset per kind of token, the rules' mode beside their days."""
    return [
        (
            f"Lifetime rules: {kind} access tokens",
            {
                # One field a row: a mode and its days side by side overflow a phone's width.
                "fields": [
                    f"{kind}_lifetime_mode",
                    f"{kind}_lifetime_days",
                    f"{kind}_expiry_mode",
                    f"{kind}_chain_mode",
                    f"{kind}_chain_days",
                    f"effective_{kind}",
                ],
                "description": "The stricter of the instance's and the application's rule wins. "
                "Report only blocks nothing: the dashboard counts the live tokens it would "
                "block. Enforced, a token breaking it is suspended at use, and active again "
                "once the rule is relaxed.",
            },
        )
        for kind in TOKEN_KINDS
    ]


def effective_rules(kind: str, sources: list[tuple[str, LifetimeRules]]) -> str:
    """The rules in force for `kind`, the strictest of each, with whose and how: one line."""
    parts = []
    for rule, label in (
        ("lifetime", "longest lifetime"),
        ("expiry", "expiry required"),
        ("chain", "longest rotation chain"),
    ):
        found = []
        for source, owner in sources:
            mode = getattr(owner, f"{kind}_{rule}_mode")
            days = getattr(owner, f"{kind}_{rule}_days", None)
            if mode != RuleMode.OFF and (rule == "expiry" or days):
                found.append((mode != RuleMode.ENFORCE, days or 0, source, mode))
        if found:
            _, days, source, mode = min(found)
            amount = f" {days} days" if rule != "expiry" else ""
            how = "enforced" if mode == RuleMode.ENFORCE else "report only"
            parts.append(f"{label}{amount} ({source}, {how})")
    return "; ".join(parts) or "none (off)"


class LifetimeRulesForm(forms.ModelForm):
    """A form sent without the rules (a script, a page older than them) leaves them as they are."""

    kept_when_missing: tuple[str, ...] = LifetimeRules.RULE_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            missing = [n for n in self.kept_when_missing if n in self.fields and n not in self.data]
            if missing:
                data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict
                for name in missing:
                    value = getattr(self.instance, name)
                    data[name] = "" if value is None else value
                self.data = data


class RuleAuditMixin(admin.ModelAdmin):
    """Every change of a lifetime rule is audited with its old and new values: in the object's
    history (LogEntry) and in the security log."""

    form = LifetimeRulesForm
    audited_fields: tuple[str, ...] = LifetimeRules.RULE_FIELDS
    audit_heading = "Changed lifetime rules"

    def construct_change_message(self, request, form, formsets, add=False):
        message = super().construct_change_message(request, form, formsets, add)
        changes = [
            f"{form.fields[name].label}: {_shown(form.initial.get(name))} → "
            f"{_shown(form.cleaned_data.get(name))}"
            for name in form.changed_data
            if name in self.audited_fields
        ]
        if not changes or add:
            return message
        security_event(
            "token_policy.changed",
            object=str(form.instance),
            actor=request.user.username,
            changes="; ".join(changes),
        )
        others = [n for n in form.changed_data if n not in self.audited_fields]
        text = f"{self.audit_heading}: " + "; ".join(changes) + "."
        if others:
            text += " Also changed: " + ", ".join(others) + "."
        return text


def _shown(value: object) -> str:
    return "—" if value in (None, "") else str(value)


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name", "description"]


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(RuleAuditMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "application_uri",
        "token_policy",
        "system_user_link",
        "is_enabled",
    ]
    list_filter = ["token_policy", "is_enabled"]
    search_fields = ["name", "application_uri", "notes"]
    list_select_related = ["system_user"]
    # A few scopes: ticks read better than the two-box widget (whose icons carry ARIA that
    # assistive tools reject).
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    readonly_fields = ["system_user_link", "created_at", "effective_personal", "effective_service"]
    fieldsets = [
        ("Identity", {"fields": ["name", "application_uri", "notes", "created_at"]}),
        ("Access policy", {"fields": ["is_enabled", "token_policy"]}),
        (
            "System user",
            {
                "fields": ["has_system_user", "system_user_link"],
                "description": "Service access tokens act as this user, never as the admin "
                "who creates them. Turning it off deactivates the user and its tokens.",
            },
        ),
        ("Scopes", {"fields": ["allowed_scopes"]}),
        (
            "Limits",
            {
                "fields": [
                    "max_token_lifetime_days",
                    "holders_may_rotate",
                    "service_tokens_need_ranges",
                ]
            },
        ),
        *rule_fieldsets(),
    ]

    @admin.display(description="in force (with the instance's)")
    def effective_personal(self, app: TrustedApplication) -> str:
        return effective_rules("personal", self._rule_sources(app))

    @admin.display(description="in force (with the instance's)")
    def effective_service(self, app: TrustedApplication) -> str:
        return effective_rules("service", self._rule_sources(app))

    def _rule_sources(self, app: TrustedApplication) -> list[tuple[str, LifetimeRules]]:
        return [("instance", InstanceTokenPolicy.current()), ("application", app)]

    @admin.display(description="system user", ordering="system_user__username")
    def system_user_link(self, app: TrustedApplication) -> str:
        user = getattr(app, "system_user", None) if app.pk else None
        if user is None:
            return "—"
        url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        state = "" if user.is_active else " (inactive)"
        return format_html('<a href="{}">{}</a>{}', url, user.username, state)


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    form = ResourceServerForm
    list_display = [
        "client_id",
        "name",
        "scope_names",
        "resource_uri_list",
        "is_enabled",
        "secret_rotated_at",
    ]
    list_filter = ["is_enabled"]
    search_fields = ["client_id", "name"]
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    fields = [
        "client_id",
        "name",
        "scopes",
        "resource_uris",
        "is_enabled",
        "created_at",
        "secret_rotated_at",
    ]
    readonly_fields = ["created_at", "secret_rotated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scopes")

    @admin.display(description="scopes")
    def scope_names(self, server: ResourceServer) -> str:
        return " ".join(scope.name for scope in server.scopes.all())

    @admin.display(description="resource URIs")
    def resource_uri_list(self, server: ResourceServer) -> str:
        uris = format_html_join(mark_safe("<br>"), "{}", ((uri,) for uri in server.resource_uris))
        return uris or "—"

    def get_readonly_fields(self, request, obj=None):
        # The client ID is what resource servers are configured with: fixed once created.
        return [*self.readonly_fields, "client_id"] if obj else self.readonly_fields

    def add_view(self, request, form_url="", extra_context=None):
        # Registering shows the new secret: sudo mode first, carrying the whole form.
        confirm = admin_form_confirmation_needed(
            self,
            request,
            None,
            action=lambda form: (
                f"register the resource server {form.instance.client_id} and see its secret"
            ),
        )
        if confirm is not None:
            return confirm
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj: ResourceServer, form, change: bool) -> None:
        if not change:
            # Kept on the instance only until response_add shows it; never stored or logged.
            setattr(obj, "_new_secret", obj.set_secret())  # noqa: B010 - not a field of the model
        super().save_model(request, obj, form, change)

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request, obj: ResourceServer, post_url_continue=None):
        secret = getattr(obj, "_new_secret", None)
        if secret is None or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        delattr(obj, "_new_secret")
        self.message_user(request, f"Registered resource server {obj.client_id}.", messages.SUCCESS)
        return self._render_secret(request, obj, secret, "Resource server registered")

    def _render_secret(
        self, request: HttpRequest, server: ResourceServer, secret: str, title: str
    ) -> HttpResponse:
        return no_store(
            object_page(
                self,
                request,
                server,
                "admin/trustedapps/resourceserver/secret.html",
                title,
                secret=secret,
            )
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="trustedapps_resourceserver_rotate_secret",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_variables("secret"))
    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Replace the secret: the old one stops working at once, the new one is shown once."""
        server = self.get_object(request, unquote(object_id))
        if server is None:
            raise Http404("No such resource server.")
        if not self.has_change_permission(request, server):
            raise PermissionDenied
        form = RotateSecretForm(
            request.POST if request.method == "POST" else None,
            holder=server,
            name=server.client_id,
        )
        secret = None
        if form.is_valid():
            action = f"rotate the secret of {server.client_id}"
            confirm = admin_confirmation_needed(self, request, server, action=action)
            if confirm is not None:
                return confirm  # sudo mode: the password again, then this rotation goes on
            secret = form.save()
        if secret is not None:
            self.log_change(request, server, "Rotated the secret.")
            self.message_user(request, f"Rotated the secret of {server.client_id}.")
            return self._render_secret(request, server, secret, "Secret rotated")
        if form.is_bound:
            # Another admin (or a second click) rotated it first: theirs is the secret in use.
            self.message_user(request, form.refusal, messages.WARNING)
            change_url = reverse("admin:trustedapps_resourceserver_change", args=[quote(server.pk)])
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            server,
            "admin/trustedapps/resourceserver/rotate_secret.html",
            f"Rotate the secret of {server.client_id}?",
            form=form,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_rotate": False}
        server = self.get_object(request, object_id)
        if server is not None:
            extra_context["may_rotate"] = self.has_change_permission(request, server)
        return super().change_view(request, object_id, form_url, extra_context)

"""Trusted applications (and their service tokens), scopes and resource servers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from common.http import no_store
from tokens.admin import may_revoke, token_status
from tokens.models import IssuedToken, ReferenceToken
from trustedapps.forms import ServiceTokenForm
from trustedapps.models import ResourceServer, Scope, TrustedApplication

# The application's change page lists its newest tokens; the token list has them all.
TOKENS_ON_APP_PAGE = 50


def object_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    obj: models.Model,
    template: str,
    title: str,
    **context,
) -> TemplateResponse:
    """A page of its own under one object (it extends templates/admin/object_page.html)."""
    opts = model_admin.opts
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": opts,
            "original": obj,
            "change_url": change_url,
            **context,
        },
    )


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name", "description"]


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "application_uri",
        "token_policy",
        "system_user_link",
        "scope_names",
        "is_enabled",
        "active_tokens",
    ]
    list_filter = ["token_policy", "is_enabled"]
    search_fields = ["name", "application_uri", "notes"]
    list_select_related = ["system_user"]
    filter_horizontal = ["allowed_scopes"]
    readonly_fields = ["system_user_link", "created_at"]
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
        ("Limits", {"fields": ["max_token_lifetime_days"]}),
    ]

    def get_queryset(self, request):
        # Live = unrevoked minus unrevoked-but-expired: two correlated counts per listed app, each
        # an index-only scan of token_app_unrevoked. A join with GROUP BY walked every token,
        # and the planner turned "expires_at IS NULL OR > now" into a bitmap scan of the table
        # (1.7 s on a million tokens; this takes milliseconds).
        def count(**conditions) -> Coalesce:
            tokens = ReferenceToken.objects.filter(
                application=OuterRef("pk"), revoked_at__isnull=True, **conditions
            )
            n = tokens.order_by().values("application").annotate(n=Count("*")).values("n")
            return Coalesce(Subquery(n), 0)

        return (
            super()
            .get_queryset(request)
            .annotate(active_token_count=count() - count(expires_at__lte=timezone.now()))
            .prefetch_related("allowed_scopes")
        )

    @admin.display(description="active tokens", ordering="active_token_count")
    def active_tokens(self, app: TrustedApplication) -> int:
        return app.active_token_count

    @admin.display(description="scopes")
    def scope_names(self, app: TrustedApplication) -> str:
        return " ".join(scope.name for scope in app.allowed_scopes.all())

    @admin.display(description="system user", ordering="system_user__username")
    def system_user_link(self, app: TrustedApplication) -> str:
        user = getattr(app, "system_user", None) if app.pk else None
        if user is None:
            return "—"
        url = reverse("admin:accounts_user_change", args=[quote(user.pk)])
        state = "" if user.is_active else " (inactive)"
        return format_html('<a href="{}">{}</a>{}', url, user.username, state)

    def may_issue(self, request: HttpRequest, app: TrustedApplication | None = None) -> bool:
        # The dedicated permission gates issuing; seeing the application is the least it needs.
        return request.user.is_instance_admin and self.has_view_permission(request, app)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        app = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if app is not None:
            tokens = (
                ReferenceToken.objects.filter(application=app)
                .select_related("user", "application")
                .prefetch_related("scopes")
            )
            app_tokens = list(tokens[:TOKENS_ON_APP_PAGE])
            for token in app_tokens:
                token.status_label = token_status(token)
            context.update(
                may_issue=self.may_issue(request, app),
                service_tokens_refusal=app.service_tokens_refusal(),
                app_tokens=app_tokens,
                app_tokens_more=len(app_tokens) == TOKENS_ON_APP_PAGE,
                all_tokens_url=reverse("admin:tokens_referencetoken_changelist")
                + f"?application__id__exact={app.pk}",
                may_revoke=may_revoke(request),
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/create-token/",
                self.admin_site.admin_view(self.create_token_view),
                name="trustedapps_trustedapplication_create_token",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_variables("issued"))
    def _render_token_created(
        self, request: HttpRequest, app: TrustedApplication, issued: IssuedToken
    ) -> HttpResponse:
        # Rendered, not redirected: the plaintext exists only in this response.
        return no_store(
            object_page(
                self,
                request,
                app,
                "admin/trustedapps/trustedapplication/token_created.html",
                "Application token created",
                token=issued.token,
                plaintext=issued.plaintext,
                scopes=" ".join(s.name for s in issued.token.scopes.all()),
            )
        )

    @method_decorator(sensitive_post_parameters())
    @method_decorator(sensitive_variables("issued"))
    def create_token_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Issue a service access token (SAT) for the application and show it, once."""
        app = self.get_object(request, unquote(object_id))
        if app is None:
            raise Http404("No such trusted application.")
        if not self.may_issue(request, app):
            raise PermissionDenied
        change_url = reverse("admin:trustedapps_trustedapplication_change", args=[quote(app.pk)])
        refusal = app.service_tokens_refusal()
        if refusal:
            message = f"{app.name} cannot have application tokens: {refusal}"
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        post = request.POST if request.method == "POST" else None
        form = ServiceTokenForm(post, request=request, application=app)
        issued = form.save() if form.is_valid() else None
        if issued is not None:
            # The hint only: the admin history must never hold the token.
            token = issued.token
            self.log_change(
                request, app, f"Issued service token {token.masked} ({token.description})."
            )
            self.message_user(request, f"Issued service token {token.masked} for {app.name}.")
            return self._render_token_created(request, app, issued)
        if form.is_resubmission:
            self.message_user(request, form.errors["form_key"][0], messages.WARNING)
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            app,
            "admin/trustedapps/trustedapplication/create_token.html",
            f"Create an application token for {app.name}",
            form=form,
            system_user=getattr(app, "system_user", None),
        )


@admin.register(ResourceServer)
class ResourceServerAdmin(admin.ModelAdmin):
    list_display = ["client_id", "name", "scope_names", "is_enabled", "secret_rotated_at"]
    list_filter = ["is_enabled"]
    search_fields = ["client_id", "name"]
    filter_horizontal = ["scopes"]
    fields = ["client_id", "name", "scopes", "is_enabled", "created_at", "secret_rotated_at"]
    readonly_fields = ["created_at", "secret_rotated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scopes")

    @admin.display(description="scopes")
    def scope_names(self, server: ResourceServer) -> str:
        return " ".join(scope.name for scope in server.scopes.all())

    def get_readonly_fields(self, request, obj=None):
        # The client ID is what resource servers are configured with: fixed once created.
        return [*self.readonly_fields, "client_id"] if obj else self.readonly_fields

    def save_model(self, request, obj: ResourceServer, form, change: bool) -> None:
        if not change:
            # Kept on the instance only until response_add shows it; never stored or logged.
            obj._new_secret = obj.set_secret()
        super().save_model(request, obj, form, change)

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request, obj: ResourceServer, post_url_continue=None):
        secret = getattr(obj, "_new_secret", None)
        if secret is None or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        del obj._new_secret
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
        server = self.get_object(request, object_id)
        if server is None:
            raise Http404("No such resource server.")
        if not self.has_change_permission(request, server):
            raise PermissionDenied
        if request.method == "POST":
            secret = server.rotate_secret()
            self.log_change(request, server, "Rotated the secret.")
            self.message_user(request, f"Rotated the secret of {server.client_id}.")
            return self._render_secret(request, server, secret, "Secret rotated")
        return object_page(
            self,
            request,
            server,
            "admin/trustedapps/resourceserver/rotate_secret.html",
            f"Rotate the secret of {server.client_id}?",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_rotate": False}
        server = self.get_object(request, object_id)
        if server is not None:
            extra_context["may_rotate"] = self.has_change_permission(request, server)
        return super().change_view(request, object_id, form_url, extra_context)

"""The tokens of trusted applications in their admin: live counts, the application's token
table, and "Create service access token" (a service access token acting as its system user).

The trustedapps app knows nothing of tokens (dependencies point one way), so this module extends
its TrustedApplicationAdmin and registers the extension in its place.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from accounts.http import signed_in
from accounts.sudo import admin_confirmation_needed
from common.admin import object_page
from common.http import no_store
from tokens.admin.actions import may_revoke, rotatable
from tokens.admin.policies import CONFIRM_FIELDSET, ConfirmEnforcingForm
from tokens.domain.lifecycle import IssuedToken
from tokens.models import ReferenceToken, live_token_count
from tokens.web.forms import ServiceTokenForm
from tokens.web.views import expiry_fields
from trustedapps.admin import TrustedApplicationAdmin
from trustedapps.models import TokenPolicy, TrustedApplication

# The application's change page lists its newest tokens; the token list has them all.
TOKENS_ON_APP_PAGE = 50


def service_tokens_notice(app: TrustedApplication) -> str:
    """Why the application cannot have service access tokens, and what to change, in plain words;
    empty when it can."""
    if app.service_tokens_refusal() is None:
        return ""
    problems, fixes = [], []
    if not TokenPolicy(app.token_policy).allows_service():
        problems.append(f"its token policy is “{TokenPolicy(app.token_policy).label}”")
        fixes.append("change the policy to Administrators only or Authenticated users")
    if not app.has_system_user:
        problems.append("it has no system user")
        fixes.append("give it a system user (tick “System user”)")
    if not app.is_enabled:
        problems.append("it is disabled")
        fixes.append("enable it")
    sentence = " and ".join(fixes)
    return (
        f"Service access tokens are off for this application: {' and '.join(problems)}. "
        f"To issue them, {sentence}, then save."
    )


admin.site.unregister(TrustedApplication)


@admin.register(TrustedApplication)
class TrustedApplicationWithTokensAdmin(TrustedApplicationAdmin):
    list_display = [*TrustedApplicationAdmin.list_display, "live_tokens"]
    # Its lifetime rules (issue 23): enforcing one asks for confirmation with the tokens it stops.
    form = ConfirmEnforcingForm
    fieldsets = [*TrustedApplicationAdmin.fieldsets, CONFIRM_FIELDSET]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(live_count=live_token_count())

    @admin.display(description="live tokens", ordering="live_count")
    def live_tokens(self, app: TrustedApplication) -> int:
        return app.live_count  # type: ignore[attr-defined]  # annotated by get_queryset

    def may_issue(self, request: HttpRequest, app: TrustedApplication | None = None) -> bool:
        # The dedicated permission gates issuing; seeing the application is the least it needs.
        return signed_in(request).is_instance_admin and self.has_view_permission(request, app)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        app = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if app is not None:
            tokens = ReferenceToken.objects.filter(application=app).select_related("user")
            tokens = tokens.with_facts()
            app_tokens = list(tokens[:TOKENS_ON_APP_PAGE])
            context.update(
                may_issue=self.may_issue(request, app),
                service_tokens_refusal=app.service_tokens_refusal(),
                service_tokens_notice=service_tokens_notice(app),
                delete_refusal=self._delete_refusal(app),
                app_tokens=app_tokens,
                app_tokens_more=len(app_tokens) == TOKENS_ON_APP_PAGE,
                all_tokens_url=reverse("admin:tokens_referencetoken_changelist")
                + f"?application__id__exact={app.pk}",
                may_revoke=may_revoke(request),
                rotatable=rotatable(self, request, app_tokens),
            )
        return super().change_view(request, object_id, form_url, context)

    def _delete_refusal(self, app: TrustedApplication) -> str:
        if app.tokens.exists():
            return (
                "This application cannot be deleted: it has tokens, and their audit trail must "
                "stay. To stop it, untick “Enabled”: none of its tokens validates from then on."
            )
        return ""

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its tokens protect it (and their audit trail): no Delete button that leads nowhere.
        if obj is not None and self._delete_refusal(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/create-token/",
                self.admin_site.admin_view(self.create_token_view),
                name="trustedapps_trustedapplication_create_token",
            ),
            *super().get_urls(),
        ]

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
            message = f"{app.name} cannot have service access tokens: {refusal}"
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(change_url)
        post = request.POST if request.method == "POST" else None
        form = ServiceTokenForm(post, request=request, application=app)
        if form.is_valid():
            action = f"create a service access token for {app.name}"
            confirm = admin_confirmation_needed(self, request, app, action=action)
            if confirm is not None:
                return confirm  # sudo mode: the password again, then this form goes on
            issued = form.save()
            if issued is not None:
                # The hint only: the admin history must never hold the token.
                token = issued.token
                what = f"service access token {token.masked}"
                self.log_change(request, app, f"Issued {what} ({token.description}).")
                self.message_user(request, f"Issued {what} for {app.name}.")
                return self._render_token_created(request, app, issued)
        if form.resubmission:
            self.message_user(request, form.resubmission, messages.WARNING)
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            app,
            "admin/trustedapps/trustedapplication/create_token.html",
            f"Create a service access token for {app.name}",
            form=form,
            system_user=getattr(app, "system_user", None),
            **expiry_fields(app, form),
        )

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
                "Service access token created",
                token=issued.token,
                plaintext=issued.plaintext,
                scopes=" ".join(s.name for s in issued.token.scopes.all()),
            )
        )

"""SCIM clients: made here (their secret shown once, after sudo mode), rotated, turned off;
their audit trail, and on each person's page the provisioning events about them.

The person's page is the user admin that tokens.admin.users registers (with their tokens): this
module extends that one with a section and registers the extension in its place, as that module
does with accounts' (scim comes after tokens in INSTALLED_APPS, so its admin loads later).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from accounts.sudo import admin_confirmation_needed, admin_form_confirmation_needed
from common.admin import ReadOnlyAdmin, object_page
from common.http import no_store
from scim.models import ProvisionedUser, ProvisioningEvent, ScimClient
from tokens.admin.users import UserWithTokensAdmin
from trustedapps.forms import RotateSecretForm

# A person's page shows their newest provisioning events; the event list has them all.
EVENTS_ON_USER_PAGE = 20


@admin.register(ScimClient)
class ScimClientAdmin(admin.ModelAdmin):
    list_display = ["name", "is_enabled", "last_used_at", "secret_rotated_at", "created_at"]
    list_filter = ["is_enabled"]
    search_fields = ["name"]
    fields = ["name", "is_enabled", "created_at", "secret_rotated_at", "last_used_at"]
    readonly_fields = ["created_at", "secret_rotated_at", "last_used_at"]

    def add_view(self, request, form_url="", extra_context=None):
        # Making a client shows its secret: sudo mode first, carrying the whole form.
        confirm = admin_form_confirmation_needed(
            self,
            request,
            None,
            action=lambda form: f"add the SCIM client {form.instance.name} and see its secret",
        )
        if confirm is not None:
            return confirm
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj: ScimClient, form, change: bool) -> None:
        if not change:
            # Kept on the instance only until response_add shows it; never stored or logged.
            setattr(obj, "_new_secret", obj.set_secret())  # noqa: B010 - not a field of the model
        super().save_model(request, obj, form, change)

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request, obj: ScimClient, post_url_continue=None):
        secret = getattr(obj, "_new_secret", None)
        if secret is None or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        delattr(obj, "_new_secret")
        self.message_user(request, f"Added the SCIM client {obj.name}.", messages.SUCCESS)
        return self._render_secret(request, obj, secret, "SCIM client added")

    def _render_secret(
        self, request: HttpRequest, client: ScimClient, secret: str, title: str
    ) -> HttpResponse:
        return no_store(
            object_page(
                self,
                request,
                client,
                "admin/scim/scimclient/secret.html",
                title,
                secret=secret,
                base_url=request.build_absolute_uri(reverse("scim_users")).removesuffix("/Users"),
            )
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/rotate-secret/",
                self.admin_site.admin_view(self.rotate_secret_view),
                name="scim_scimclient_rotate_secret",
            ),
            *super().get_urls(),
        ]

    @method_decorator(sensitive_variables("secret"))
    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Replace the secret: the old one stops working at once, the new one is shown once."""
        client = self.get_object(request, unquote(object_id))
        if client is None:
            raise Http404("No such SCIM client.")
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        form = RotateSecretForm(
            request.POST if request.method == "POST" else None, holder=client, name=client.name
        )
        secret = None
        if form.is_valid():
            action = f"rotate the secret of the SCIM client {client.name}"
            confirm = admin_confirmation_needed(self, request, client, action=action)
            if confirm is not None:
                return confirm
            secret = form.save()
        if secret is not None:
            self.log_change(request, client, "Rotated the secret.")
            self.message_user(request, f"Rotated the secret of {client.name}.")
            return self._render_secret(request, client, secret, "Secret rotated")
        if form.is_bound:
            self.message_user(request, form.refusal, messages.WARNING)
            change_url = reverse("admin:scim_scimclient_change", args=[quote(client.pk)])
            return HttpResponseRedirect(change_url)
        return object_page(
            self,
            request,
            client,
            "admin/scim/scimclient/rotate_secret.html",
            f"Rotate the secret of {client.name}?",
            form=form,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_rotate": False}
        client = self.get_object(request, object_id)
        if client is not None:
            extra_context["may_rotate"] = self.has_change_permission(request, client)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ProvisioningEvent)
class ProvisioningEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "user", "client_name", "ip", "detail"]
    list_filter = ["action", "client"]
    search_fields = ["user__username", "client_name"]
    list_select_related = ["user"]
    fields = ["at", "action", "user", "client", "client_name", "ip", "detail"]
    date_hierarchy = "at"


admin.site.unregister(User)


@admin.register(User)
class ProvisionedUserAdmin(UserWithTokensAdmin):
    # Read-only fields, not inlines: an inline would ask every POST of the user form for its
    # management form, and these rows are never edited here.
    readonly_fields = [*UserWithTokensAdmin.readonly_fields, "provisioning_summary"]
    fieldsets = [
        *UserWithTokensAdmin.fieldsets,
        ("Provisioning (SCIM)", {"fields": ["provisioning_summary"]}),
    ]

    @admin.display(description="identity provider")
    def provisioning_summary(self, user: User) -> str:
        if user.pk is None:
            return "—"
        provisioned = ProvisionedUser.objects.filter(user=user).select_related("client").first()
        events = list(ProvisioningEvent.objects.filter(user=user)[:EVENTS_ON_USER_PAGE])
        if provisioned is None and not events:
            return "Not managed by any SCIM client."
        about = ""
        if provisioned is not None:
            about = format_html(
                "<p>Managed by {}{}{}.</p>",
                provisioned.client or "a SCIM client since deleted",
                format_html(", external id <code>{}</code>", provisioned.external_id)
                if provisioned.external_id
                else "",
                format_html(
                    "; deleted by it on {} UTC (kept here, inactive)",
                    f"{provisioned.deleted_at:%Y-%m-%d %H:%M}",
                )
                if provisioned.deleted_at
                else "",
            )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{event.at:%Y-%m-%d %H:%M}",
                    event.get_action_display(),
                    event.client_name,
                    event.ip or "—",
                    event.detail or "",
                )
                for event in events
            ),
        )
        table = format_html(
            '<table class="provisioning-events"><thead><tr><th scope="col">when (UTC)</th>'
            '<th scope="col">what</th><th scope="col">SCIM client</th>'
            '<th scope="col">from address</th><th scope="col">detail</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )
        return format_html("{}{}", about, table)

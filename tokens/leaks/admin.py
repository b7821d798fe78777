"""The scanners that may report leaked tokens: made here, their secret shown once (sudo mode)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from accounts.sudo import admin_form_confirmation_needed
from common.admin import object_page
from common.http import no_store
from tokens.leaks.models import LeakReporter


@admin.register(LeakReporter)
class LeakReporterAdmin(admin.ModelAdmin):
    list_display = ["name", "is_enabled", "created_at", "last_report_at"]
    list_filter = ["is_enabled"]
    search_fields = ["name"]
    fields = ["name", "is_enabled", "created_at", "last_report_at"]
    readonly_fields = ["created_at", "last_report_at"]

    def add_view(self, request, form_url="", extra_context=None):
        # Adding one shows its new secret: sudo mode first, carrying the whole form.
        confirm = admin_form_confirmation_needed(
            self,
            request,
            None,
            action=lambda form: f"add the leak reporter {form.instance.name} and see its secret",
        )
        if confirm is not None:
            return confirm
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj: LeakReporter, form, change: bool) -> None:
        if not change:
            # Kept on the instance only until response_add shows it; never stored or logged.
            setattr(obj, "_new_secret", obj.set_secret())  # noqa: B010 - not a field of the model
        super().save_model(request, obj, form, change)

    @method_decorator(sensitive_variables("secret"))
    def response_add(self, request: HttpRequest, obj: LeakReporter, post_url_continue=None):
        secret = getattr(obj, "_new_secret", None)
        if secret is None or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        delattr(obj, "_new_secret")
        self.message_user(request, f"Added the leak reporter {obj.name}.", messages.SUCCESS)
        page: HttpResponse = object_page(
            self,
            request,
            obj,
            "admin/leaks/leakreporter/secret.html",
            "Leak reporter added",
            secret=secret,
        )
        return no_store(page)

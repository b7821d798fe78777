"""What the admin pages of every app share."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import models
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse


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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only their own flows write (tokens, audit events): shown here, every field read
    only, never added, changed or deleted, superusers included."""

    def get_readonly_fields(self, request, obj=None):
        return self.fields or ()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

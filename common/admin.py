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

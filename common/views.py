"""Error views of the portal's HTML pages (config/urls.py names them)."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error as django_server_error

from common.middleware import outage_response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """An error raised outside a view (middleware: the session saved or loaded, a public
    endpoint's shortcut): a database outage is its 503, anything else Django's 500."""
    error = sys.exc_info()[1]
    outage = outage_response(request, error) if error is not None else None
    return outage or django_server_error(request, template_name)

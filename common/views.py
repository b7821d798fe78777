"""Error views of the portal's HTML pages (config/urls.py names them)."""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.views.defaults import server_error as django_server_error

from common.db import is_outage, outage_log
from common.middleware import outage_page


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """A database out of reach is a 503 to retry; anything else stays Django's 500."""
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        outage_log.refused(error, request.path)
        return outage_page()
    return django_server_error(request, template_name)

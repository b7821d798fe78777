"""Small filters of the admin's own pages (its index)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django import template
from django.utils.formats import date_format

register = template.Library()

# "2026-11-28 19:07:21.123456+00:00", as some models (django-axes') put in their names.
_RAW_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2})?")


@register.filter
def plain_timestamps(text: str) -> str:
    """Raw timestamps in an object's name, in the portal's date format, without microseconds."""

    def plain(match: re.Match) -> str:
        try:
            moment = datetime.fromisoformat(match.group(0))
        except ValueError:
            return match.group(0)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return date_format(moment, "DATETIME_FORMAT")

    return _RAW_TIMESTAMP.sub(plain, str(text))

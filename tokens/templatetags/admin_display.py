"""Small filters of the admin's own pages (its index, its lists)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django import template
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

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


# The opening of a cell as the admin renders it: `<td class="field-x">`, `<th class=...>`.
_CELL_START = re.compile(r"^<(td|th)\b")


@register.simple_tag
def labelled_cells(result, headers) -> list[str]:
    """A changelist row's cells, each with its column's name in `data-label`.

    On a phone the rows become cards (static/css/admin.css) and each value shows its name from
    this attribute, so the list never scrolls sideways and works without JavaScript.
    """
    cells: list[str] = []
    for cell, header in zip(result, headers, strict=False):
        # The checkbox column's header is a control, not a name.
        is_checkbox = "action-checkbox" in str(header.get("class_attrib", ""))
        label = "" if is_checkbox else capfirst(str(header.get("text", "")).strip())
        html = str(cell)
        opening = _CELL_START.match(html)
        if opening:
            html = f'{html[: opening.end()]} data-label="{escape(label)}"{html[opening.end() :]}'
        # The cell is the admin's own escaped HTML and the label is escaped: safe to mark.
        cells.append(mark_safe(html))  # noqa: S308
    return cells

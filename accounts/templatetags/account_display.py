from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def cooloff_minutes(cool_off: timedelta) -> str:
    """django-axes gives the cool-off as a timedelta; people read "15 minutes"."""
    minutes = max(1, round(cool_off.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"

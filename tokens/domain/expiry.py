"""When a token stops working: at 00:00:00 UTC of a day, whichever path sets its expiry.

The one home of the expiry rule. The pages, the e-mails and the README say so, and every path
takes the moment, its limits and their wording from here: issuing (the profile's and the admin's
forms, `issue_token`, `seed_demo`, and `lifecycle`, which accepts nothing else) and rotating (the
profile, the admin, `rotate_token`, `POST /api/tokens/self/rotate`). A day from today never ends
later than the same number of days from now, so these moments also keep within a lifetime
counted from now (an application's longest, the lifetime a rotated token was given).

No database and no settings of its own: an application's longest lifetime is its own property.
`now` may be given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from tokens.domain.refusal import refuse
from trustedapps.models import DEFAULT_TOKEN_LIFETIME

if TYPE_CHECKING:
    from tokens.models import ReferenceToken
    from trustedapps.models import TrustedApplication

# Lifetimes offered as one click, as the token pages people know do; longer ones than the
# application allows are not offered. "custom" means the date field.
EXPIRY_PRESETS = (7, 30, 60, 90)
CUSTOM = "custom"


def today_utc(now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(UTC).date()


def start_of_day_utc(day: date) -> datetime:
    """The moment a token expiring on `day` stops working: 00:00:00 UTC of that day."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def expiry_in_days(days: int, now: datetime | None = None) -> datetime:
    """00:00 UTC, `days` days from today (UTC): what "a lifetime of N days" means."""
    return start_of_day_utc(today_utc(now) + timedelta(days=days))


def lifetime_in_days(created_at: datetime, expires_at: datetime) -> int:
    """The lifetime a token was given, in the days of this rule: from the day (UTC) it was made
    to the day it stops. A token made today for 30 days, whatever the hour, was given 30."""
    return (today_utc(expires_at) - today_utc(created_at)).days


def allows_at_most(application: TrustedApplication) -> str:
    """ "Sync allows tokens of at most 30 days": the limit, as every refusal of it words it."""
    return f"{application.name} allows tokens of at most {application.max_token_lifetime.days} days"


def first_expiry_day(now: datetime | None = None) -> date:
    return today_utc(now) + timedelta(days=1)


def last_expiry_day(application: TrustedApplication, now: datetime | None = None) -> date:
    return today_utc(now) + timedelta(days=application.max_token_lifetime.days)


def default_expiry_day(application: TrustedApplication | None) -> date:
    lifetime = application.default_token_lifetime if application else DEFAULT_TOKEN_LIFETIME
    return today_utc() + timedelta(days=lifetime.days)


def expiry_day_error(application: TrustedApplication | None, day: date) -> str | None:
    """Why `day` cannot be a token's expiry date, in a form's words, or None."""
    if day < first_expiry_day():
        return "Choose a date from tomorrow on."
    if application is not None and day > last_expiry_day(application):
        last = last_expiry_day(application)
        return f"{allows_at_most(application)}: choose {last:%-d %b %Y} or earlier."
    return None


def check_expiry(
    application: TrustedApplication, expires_at: datetime | None, now: datetime
) -> None:
    """Refuse an expiry that issuing may not give: none, not at 00:00:00 UTC, not after today,
    or beyond the application's longest lifetime."""
    if expires_at is None:
        raise refuse("expires_at", "A token needs an expiry date.", "expiry_required")
    day = today_utc(expires_at)
    if expires_at != start_of_day_utc(day):
        raise refuse(
            "expires_at",
            f"A token stops at 00:00:00 UTC of a day (tokens.domain.expiry), not at "
            f"{expires_at.isoformat()}.",
            "expiry_not_start_of_day",
        )
    if day < first_expiry_day(now):
        raise refuse("expires_at", "The expiry must be in the future.", "expiry_in_past")
    if day > last_expiry_day(application, now):
        raise refuse("expires_at", f"{allows_at_most(application)}.", "expiry_too_far")


def rotation_expiry(token: ReferenceToken, now: datetime, days: int | None = None) -> datetime:
    """When the replacement of `token` stops: 00:00 UTC, `days` days from today (by default as
    many as the token was given). A rotation never outlives what the owner chose, so more days
    than the token was given, or than its application allows, are refused. No application
    allows a token that never expires (its longest lifetime always applies): one that never
    expired is replaced by one with the application's default lifetime, or `days`."""
    application = token.application
    longest = application.max_token_lifetime.days
    given = token.lifetime_days
    if days is None:
        days = min(given or application.default_token_lifetime.days, longest)
    elif days < 1:
        raise refuse("expires_at", "A token lives at least 1 day.", "expiry_in_past")
    elif days > longest:
        raise refuse("expires_at", f"{allows_at_most(application)}.", "expiry_too_far")
    elif given is not None and days > given:
        unit = "day" if given == 1 else "days"
        raise refuse(
            "expires_at",
            f"A rotation never outlives the token it replaces: {token.masked} was given "
            f"{given} {unit}, so its replacement may have at most {given}.",
            "longer_than_original",
        )
    return expiry_in_days(days, now)


def expiry_presets(application: TrustedApplication | None) -> list[int]:
    longest = application.max_token_lifetime.days if application else EXPIRY_PRESETS[-1]
    return [days for days in EXPIRY_PRESETS if days <= longest]


def preset_for(application: TrustedApplication | None, day: date | None) -> str:
    """The preset whose date is `day`, or "custom"."""
    if day is None:
        return CUSTOM
    days = (day - today_utc()).days
    return str(days) if days in expiry_presets(application) else CUSTOM


def clamped_expiry(
    application: TrustedApplication, raw_day: str | None, raw_preset: str | None
) -> tuple[str, str, str]:
    """(date, preset, note) once `application` is chosen: a lifetime it does not allow is
    brought within its limit before the form is sent, and the note says so. A date, when one
    is given, wins over a preset (without JavaScript nobody unticks the preset)."""
    day = _parse_day(raw_day)
    preset = CUSTOM if day or not raw_preset else raw_preset
    allowed = expiry_presets(application)
    limit = last_expiry_day(application)
    why = allows_at_most(application)
    if preset != CUSTOM:
        if preset.isdigit() and int(preset) in allowed:
            return "", preset, ""
        if allowed:
            return "", str(allowed[-1]), f"{why}: the expiration is now {allowed[-1]} days."
        return limit.isoformat(), CUSTOM, f"{why}: the expiration is now {limit:%-d %b %Y}."
    if day is not None and day > limit:
        return limit.isoformat(), CUSTOM, f"{why}: the expiration date moved to {limit:%-d %b %Y}."
    return raw_day or "", CUSTOM, ""


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None

"""When a token stops working: at 00:00:00 UTC of a day, whichever path sets its expiry.

The pages, the e-mails and the README say so, and every path takes the moment from here:
issuing (the profile's and the admin's forms, `issue_token`, `seed_demo`) and rotating (the
profile, the admin, `rotate_token`, `POST /api/tokens/self/rotate`). A day from today never ends
later than the same number of days from now, so these moments also keep within a lifetime
counted from now (an application's longest, the lifetime a rotated token was given).

Pure: no database, no settings; `now` may be given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone


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

# One date format for the whole product, the profile and the admin alike: "28 Dec 2026".
# Django's own English formats ("Dec. 28, 2026", "2026-12-28 14:05:03.123456" in places) would
# give the two consoles two voices.
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"

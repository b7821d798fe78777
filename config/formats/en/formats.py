# One date format for the whole product, the profile and the admin alike: "28 Dec 2026".
# Django's own English formats ("Dec. 28, 2026", "2026-12-28 14:05:03.123456" in places) would
# give the two consoles two voices.
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
# Every moment says its time zone (the portal keeps and shows UTC): "28 Dec 2026, 14:05 UTC".
DATETIME_FORMAT = r"j M Y, H:i \U\T\C"
SHORT_DATETIME_FORMAT = r"j M Y, H:i \U\T\C"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"

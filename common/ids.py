"""Row ids from URLs and forms: checked before they reach the database.

A number past the 64-bit range makes the database driver raise (SQLite: OverflowError), which
would be a 500 for what is only a wrong id.
"""

import re

_ID_RE = re.compile(r"[0-9]{1,18}")


def is_row_id(value: object) -> bool:
    return isinstance(value, str | int) and bool(_ID_RE.fullmatch(str(value)))


class RowIdConverter:
    """Like Django's `int` converter, limited to ids the database can hold (up to 18 digits)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)

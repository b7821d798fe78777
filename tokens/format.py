"""The `enrt_` token format: make, parse and hash tokens. Pure functions, no Django.

A token is `enrt_` + 64 upper-case hex digits: 28 random bytes (224 bits from `secrets`)
followed by the big-endian CRC-32 of those bytes. The checksum lets a typo or a guessed string be
rejected without touching the database, and lets secret scanners verify a match offline.
"""

import hashlib
import re
import secrets
import zlib

PREFIX = "enrt_"
RANDOM_BYTES = 28
TOKEN_LENGTH = len(PREFIX) + 2 * (RANDOM_BYTES + 4)
HINT_LENGTH = 4

_TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")


def _checksum(random_part: bytes) -> bytes:
    return zlib.crc32(random_part).to_bytes(4, "big")


def make_token() -> str:
    random_part = secrets.token_bytes(RANDOM_BYTES)
    return PREFIX + (random_part + _checksum(random_part)).hex().upper()


def is_well_formed(token: object) -> bool:
    """True when `token` has the exact shape and a valid checksum; costs no database query."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return False
    raw = bytes.fromhex(token[len(PREFIX) :])
    return secrets.compare_digest(_checksum(raw[:RANDOM_BYTES]), raw[RANDOM_BYTES:])


def hash_token(token: str) -> str:
    """The only form in which a token is stored: SHA-256 as 64 lower-case hex digits.

    224 random bits need no slow password hash; a fast hash keeps each check cheap.
    """
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def display_hint(token: str) -> str:
    return token[-HINT_LENGTH:]

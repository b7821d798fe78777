"""What the token commands share beyond common.cli: people by name, tokens by number or value."""

from __future__ import annotations

import sys

from django.core.management.base import CommandError

from accounts.models import User
from common.ids import is_row_id
from tokens.format import PREFIX, is_well_formed
from tokens.models import ReferenceToken


def person_named(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user is named {username!r}.")
    return user


def token_given(value: str) -> ReferenceToken:
    """The token named on the command line: its number, the token itself, or '-' (stdin)."""
    if value == "-":
        value = sys.stdin.readline().strip()
    tokens = ReferenceToken.objects.select_related("user", "application")
    if value.isascii() and value.isdigit():
        # A number beyond the id column's range names no token (and would overflow it).
        token = tokens.filter(pk=int(value)).first() if is_row_id(value) else None
        if token is None:
            raise CommandError(f"No token has the number {value}.")
        return token
    if value.startswith(PREFIX):
        # Never echo the value: it may be a real token with a typo.
        if not is_well_formed(value):
            raise CommandError("That is not a well-formed enrt_ token (bad length or checksum).")
        token = tokens.matching(value).first()
        if token is None:
            raise CommandError("No token matches.")
        return token
    raise CommandError("Give a token's number or an enrt_ token.")

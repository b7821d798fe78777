"""What the token commands share: turning names into objects, and refusals into CommandError.

Every refusal is a CommandError, so `manage.py` prints it on stderr and exits with status 1;
stdout stays free for the one secret a command may print.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from common.ids import is_row_id
from trustedapps.models import Scope, TrustedApplication

if TYPE_CHECKING:
    from tokens.models import ReferenceToken


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number.") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number.")
    return number


def scope_names(value: str | None) -> list[str]:
    """`"read update"` or `"read,update"`: the names, without duplicates, in their order."""
    names = [name for name in re.split(r"[\s,]+", value or "") if name]
    return list(dict.fromkeys(names))


def scopes_named(value: str | None) -> list[Scope]:
    names = scope_names(value)
    found = {scope.name: scope for scope in Scope.objects.filter(name__in=names)}
    unknown = [name for name in names if name not in found]
    if unknown:
        known = ", ".join(Scope.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {known}.")
    return [found[name] for name in names]


def application_with_uri(uri: str) -> TrustedApplication:
    application = TrustedApplication.objects.filter(application_uri=uri).first()
    if application is None:
        raise CommandError(f"No trusted application has the URI {uri!r}.")
    return application


def person_named(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user is named {username!r}.")
    return user


def note(command: BaseCommand, message: str) -> None:
    """A message for the person at the terminal, on stderr, so stdout holds only the secret."""
    command.stderr.write(message, style_func=str)


def refusal(error: ValidationError) -> CommandError:
    """The model's refusal, naming its rule, as a command error."""
    return CommandError(" ".join(error.messages))


def invalid(error: ValidationError) -> CommandError:
    """A full_clean() failure, each message after the field it concerns."""
    if not hasattr(error, "error_dict"):
        return refusal(error)
    return CommandError(
        " ".join(
            f"{field}: {message}" if field != NON_FIELD_ERRORS else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    )


def token_given(value: str) -> ReferenceToken:
    """The token named on the command line: its number, the token itself, or '-' (stdin)."""
    from tokens.format import PREFIX, is_well_formed
    from tokens.models import ReferenceToken

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

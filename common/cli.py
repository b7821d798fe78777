"""What every management command shares: argument types, and refusals as CommandError.

Every refusal is a CommandError, so `manage.py` prints it on stderr and exits with status 1;
stdout stays free for the one secret a command may print.
"""

from __future__ import annotations

import argparse
import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError


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

"""The portal's mail backend for the console (EMAIL_URL=consolemail://, the default)."""

import sys
from typing import Any

from django.core.mail.backends import console


class ConsoleEmailBackend(console.EmailBackend):
    """Django's console backend, on stderr instead of stdout.

    A command's stdout holds only what it promises (a token, a secret, its report), so that
    `TOKEN=$(manage.py issue_token ...)` captures the token alone. The notice a command sends on
    the way is for the person at the terminal, as its other messages are.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(*args, **kwargs)

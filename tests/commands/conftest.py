from io import StringIO

import pytest
from django.core.management import call_command

from tests.helpers import Output


@pytest.fixture
def run():
    """Run a management command as a script would: what it prints on stdout and on stderr."""

    def run(*args: str, stdin: str | None = None) -> Output:
        stdout, stderr = StringIO(), StringIO()
        call_command(*args, stdout=stdout, stderr=stderr)
        return Output(stdout.getvalue(), stderr.getvalue())

    return run

"""What every command that notifies prints on stdout: only what it promises, whatever the mail.

`TOKEN=$(manage.py issue_token ...)` must capture the token alone, though the command also sends
its owner a notice. These run each command with the mail backend the settings choose when nothing
is configured (the console, as in `make run`; the test runner otherwise swaps in an in-memory
one), send the notices as a commit would, and read the process's own stdout and stderr.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from config import settings as configured
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken

TOKEN_LINE = re.compile(r"enrt_[0-9A-F]{64}\n")
# What Django's console backend prints of each message it sends.
MAIL_HEADER = "Content-Type: text/plain"


@dataclass
class Printed:
    stdout: str
    stderr: str


@pytest.fixture
def command(settings, capsys, django_capture_on_commit_callbacks):
    """Run a command as `manage.py` would on a machine where nothing is configured."""
    settings.EMAIL_BACKEND = configured.EMAIL_BACKEND

    def run(*args: str) -> Printed:
        capsys.readouterr()
        with django_capture_on_commit_callbacks(execute=True):
            call_command(*args)
        out, err = capsys.readouterr()
        return Printed(out, err)

    return run


def test_the_default_mail_backend_is_the_console(command):
    # What these tests rely on: mail is printed, not sent away or dropped.
    assert configured.EMAIL_BACKEND == "common.mail.ConsoleEmailBackend"


def test_issue_token_personal_prints_the_token_alone(command, alice, sync_app):
    printed = command("issue_token", "personal", "--user", "alice", "--app", "com.example/sync")

    assert TOKEN_LINE.fullmatch(printed.stdout)
    # The owner's notice was sent, to the console's other stream.
    assert "A personal access token was created for your account" in printed.stderr


def test_issue_token_service_prints_the_token_alone(command, admin_user, sync_app):
    printed = command("issue_token", "service", "--app", "com.example/sync", "--as-admin", "admin")

    assert TOKEN_LINE.fullmatch(printed.stdout)


def test_rotate_token_prints_the_new_token_alone(command, alice_token):
    printed = command("rotate_token", str(alice_token.token.pk))

    assert TOKEN_LINE.fullmatch(printed.stdout)
    assert printed.stdout.strip() != alice_token.plaintext
    assert MAIL_HEADER in printed.stderr  # alice is told her token was rotated


def test_revoke_token_prints_its_one_line(command, alice_token):
    printed = command("revoke_token", str(alice_token.token.pk), "--reason", "laptop stolen")

    assert re.fullmatch(
        r"Revoked personal access token #\d+ \(enrt_…\w{4}\) acting as alice "
        r"for com\.example/sync\.\n",
        printed.stdout,
    )
    assert MAIL_HEADER in printed.stderr  # alice is told someone else revoked it


def test_register_resource_server_prints_the_secret_alone(command, read_scope):
    printed = command("register_resource_server", "inventory-api", "--scopes", "read")

    assert re.fullmatch(r"[^\s:]{20,}\n", printed.stdout)


def test_notify_expiring_tokens_prints_its_report_alone(command, alice, sync_app):
    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(3)
    )
    # Made long ago (issue 23: a token made for less than a stage never gets that stage).
    ReferenceToken.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - timedelta(days=90)
    )

    printed = command("notify_expiring_tokens")

    assert printed.stdout == "Told alice@example.com about 1 token(s) expiring within 7 days.\n"
    assert MAIL_HEADER in printed.stderr


def test_seed_demo_prints_its_sign_ins_alone(command, db, tmp_path):
    printed = command("seed_demo", "--credentials-file", str(tmp_path / "demo.json"))

    assert printed.stdout.startswith("Resource server: client_id=demo-api client_secret=")
    assert printed.stdout.rstrip().endswith("instance administrator  http://127.0.0.1:8000/admin/")
    assert MAIL_HEADER not in printed.stdout
    assert "A personal access token was created for your account" in printed.stderr

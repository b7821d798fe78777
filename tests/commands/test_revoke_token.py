import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens.format import make_token
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder


def test_it_revokes_a_token_by_its_number(run, alice_token):
    token = alice_token.token
    out = run("revoke_token", str(token.pk), "--reason", "laptop stolen")
    assert f"Revoked personal access token #{token.pk}" in out.stdout
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert (token.revoked_by, token.revocation_reason) == (None, "laptop stolen")
    event = token.events.get(action="revoked")
    assert (event.actor, event.detail) == (None, "laptop stolen")
    assert check_for_holder(alice_token.plaintext) is None


def test_it_revokes_a_token_given_itself(run, sync_service_token):
    out = run("revoke_token", sync_service_token.plaintext)
    assert "Revoked service access token" in out.stdout
    assert sync_service_token.plaintext not in out.stdout + out.stderr
    assert check_for_holder(sync_service_token.plaintext) is None


def test_it_reads_the_token_from_stdin_given_a_dash(run, alice_token, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(alice_token.plaintext + "\n"))
    run("revoke_token", "-")
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).revoked_at is not None


def test_revoking_twice_says_so_and_records_nothing(run, alice_token):
    run("revoke_token", str(alice_token.token.pk), "--reason", "first")
    before = (TokenEvent.objects.count(), ReferenceToken.objects.values().get())

    out = run("revoke_token", alice_token.plaintext, "--reason", "second")

    assert "already revoked" in out.stdout
    assert (TokenEvent.objects.count(), ReferenceToken.objects.values().get()) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("999", "No token has the number 999"),
        ("99999999999999999999999", "No token has the number"),
        ("enrt_" + "A" * 64, "not a well-formed"),
        ("enrt_abc", "not a well-formed"),
        ("hello", "Give a token's number or an enrt_ token"),
        ("", "Give a token's number"),
        ("-1", "Give a token's number"),
        ("٣", "Give a token's number"),  # a digit, but not an ASCII one
    ],
)
def test_it_refuses_what_names_no_token(run, alice_token, value, message):
    with pytest.raises(CommandError, match=message) as excinfo:
        run("revoke_token", value)
    assert excinfo.value.returncode == 1
    assert not ReferenceToken.objects.revoked().exists()


def test_an_unknown_well_formed_token_is_refused_without_echoing_it(run, db):
    plaintext = make_token()
    with pytest.raises(CommandError, match="No token matches") as excinfo:
        run("revoke_token", plaintext)
    assert plaintext not in str(excinfo.value)


def test_its_help_names_the_reason(capsys):
    with pytest.raises(SystemExit):
        call_command("revoke_token", "--help")
    assert "--reason" in capsys.readouterr().out


def test_from_the_shell_a_refusal_exits_1_with_the_message_on_stderr():
    # The one place where the real process matters: the exit status scripts see.
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    result = subprocess.run(  # noqa: S603
        [sys.executable, str(manage), "revoke_token", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "CommandError: Give a token's number or an enrt_ token." in result.stderr

"""scan_for_tokens: finds tokens in files before they leak, never printing more than 4 chars."""

import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers import PROJECT
from tokens.format import make_token
from tokens.models import ReferenceToken, TokenEvent


@pytest.fixture
def repo(tmp_path, alice_token):
    """A working copy where alice pasted her token into a settings file."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "settings.py").write_text(
        f'DEBUG = True\nAPI_TOKEN = "{alice_token.plaintext}"\n'
    )
    (tmp_path / "README.md").write_text("enrt_" + "A" * 64 + " is not a token (bad checksum)\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "ORIG").write_text(alice_token.plaintext)
    return tmp_path


def test_it_reports_file_and_line_with_the_last_four_characters_and_fails(run, repo, alice_token):
    with pytest.raises(CommandError, match="1 token found") as failed:
        run("scan_for_tokens", str(repo))

    assert failed.value.returncode == 1
    assert ReferenceToken.objects.revoked().count() == 0


def test_the_output_names_the_place_never_the_token(repo, alice_token, capsys):
    with pytest.raises(CommandError):
        call_command("scan_for_tokens", str(repo))
    out = capsys.readouterr().out

    assert out == f"{repo}/src/settings.py:2: enrt_…{alice_token.plaintext[-4:]}\n"
    assert alice_token.plaintext not in out
    assert alice_token.plaintext[-5:] not in out


def test_a_clean_tree_passes(run, tmp_path, db):
    (tmp_path / "a.txt").write_text("nothing here\n")
    (tmp_path / "b.bin").write_bytes(bytes(range(256)))

    assert run("scan_for_tokens", str(tmp_path)).stdout == ""


def test_revoke_reports_each_as_leaked(run, repo, alice_token, sync_service_token):
    (repo / "deploy.env").write_text(f"A={sync_service_token.plaintext}\nB={make_token()}\n")

    with pytest.raises(CommandError, match="3 tokens found; reported as leaked"):
        run("scan_for_tokens", "--revoke", str(repo))

    assert ReferenceToken.objects.revoked().count() == 2
    assert set(
        TokenEvent.objects.exclude(leak_source="").values_list("leak_source", flat=True)
    ) == {"scan"}


def test_a_missing_path_is_an_error(run, db):
    with pytest.raises(CommandError, match="No such file or folder: /no/such/path"):
        run("scan_for_tokens", "/no/such/path")


def test_from_the_shell_it_exits_1(repo, alice_token):
    # As a pre-commit hook runs it: the exit status is what stops the commit.
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "scan_for_tokens", str(repo / "src")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={"DEBUG": "true", "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///:memory:"},
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout.endswith(f"settings.py:2: enrt_…{alice_token.plaintext[-4:]}\n")
    assert alice_token.plaintext not in done.stdout + done.stderr

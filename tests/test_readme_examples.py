"""The README's command-line examples run as written, in order, on the demo data of `make run`.

Each `manage.py` line of the README's shell blocks is run in-process, as a reader would type it:
`VAR=$(...)` keeps what it prints on stdout, `printf '%s\\n' "$VAR" | ...` feeds it on stdin, and
`"$VAR"` stands for what was kept. Options in brackets are the README's way of saying "optional":
they are left out. So an example that the demo data makes fail (a name it already has, a token
revoked a line earlier) fails here first.
"""

import io
import re
import shlex
import sys
from pathlib import Path

from django.core.management import call_command

from tokens.management.commands import seed_demo

README = Path(__file__).resolve().parents[1] / "README.md"
MANAGE = ".venv/bin/python manage.py"
COMMANDS = {
    "register_trusted_app",
    "register_resource_server",
    "issue_token",
    "rotate_token",
    "revoke_token",
    "notify_expiring_tokens",
    "purge_tokens",
    "seed_demo",
    "revoke_unused_tokens",  # issue 23
}
CAPTURE = re.compile(r"^(?P<name>[A-Z_]+)=\$\((?P<command>.*)\)$")
STDIN = re.compile(r"""^printf '%s\\n' "\$(?P<name>[A-Z_]+)" \| (?P<command>.*)$""")


def readme_command_lines() -> list[str]:
    """The command lines of the README's shell blocks that run manage.py, continuations joined."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(), flags=re.M | re.S)
    lines = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(line.split())
            if MANAGE in line and not line.startswith("#"):
                lines.append(line)
    return lines


def run_line(line: str, kept: dict[str, str], monkeypatch) -> tuple[str, str]:
    """Run one README line as the shell would; (the command's name, what it printed)."""
    line = re.sub(r" ?\[[^\]]*\]", "", line)  # optional parts, as "[--dry-run]"
    capture = CAPTURE.match(line)
    if capture:
        line = capture["command"]
    piped = STDIN.match(line)
    if piped:
        line = piped["command"]
        monkeypatch.setattr(sys, "stdin", io.StringIO(kept[piped["name"]] + "\n"))
    assert line.startswith(MANAGE + " "), line
    words = [
        kept[word[1:]] if word.startswith("$") else word
        for word in shlex.split(line.removeprefix(MANAGE + " "))
    ]
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*words, stdout=stdout, stderr=stderr)
    if capture:
        kept[capture["name"]] = stdout.getvalue().strip()
    return words[0], stdout.getvalue()


def test_the_readme_command_examples_run_as_written_on_the_demo_data(db, tmp_path, monkeypatch):
    # The demo's secrets go to a file of this test, never to the project's own.
    monkeypatch.setattr(seed_demo, "CREDENTIALS_FILE", tmp_path / ".demo-credentials.json")
    call_command("seed_demo", stdout=io.StringIO())  # what `make run` loads
    kept: dict[str, str] = {}

    ran = [run_line(line, kept, monkeypatch) for line in readme_command_lines()]

    assert {name for name, _ in ran} == COMMANDS  # every documented command is exercised
    assert set(kept) == {"SECRET", "TOKEN", "SERVICE_TOKEN", "NEW"}
    assert all(re.fullmatch(r"enrt_[0-9A-F]{64}", kept[name]) for name in kept if "TOKEN" in name)
    assert (tmp_path / ".demo-credentials.json").exists()  # seed_demo's lines wrote here

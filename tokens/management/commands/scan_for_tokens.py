from __future__ import annotations

import os
import re
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tokens.format import HINT_LENGTH, is_well_formed
from tokens.leaks.reports import Outcome, Report, Source, report_leaks

# The token's shape, not glued to more hex or word characters (a longer hex string is no token).
_CANDIDATE = re.compile(rb"(?<![0-9A-Za-z_])enrt_[0-9A-F]{64}(?![0-9A-Za-z_])")
# Folders no one commits: version control's own data.
_SKIPPED_DIRS = {".git", ".hg", ".svn"}

_SAID = {
    Outcome.REVOKED: "revoked now",
    Outcome.ALREADY_REVOKED: "was revoked already",
    Outcome.UNKNOWN: "not a token of this portal",
}


def _files(paths: list[str]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
                for name in sorted(names):
                    yield Path(root) / name
        elif path.is_file():
            yield path
        else:
            raise CommandError(f"No such file or folder: {given}")


def _found(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, token) for every well-formed token in the file, read as bytes: any
    encoding, binary files too (a token is ASCII)."""
    try:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                for match in _CANDIDATE.finditer(line):
                    token = match.group().decode("ascii")
                    if is_well_formed(token):  # the checksum: a look-alike is not reported
                        yield number, token
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error.strerror}") from None


class Command(BaseCommand):
    help = (
        "Find enrt_ tokens in files before they leak: prints file:line and the token's last "
        f"{HINT_LENGTH} characters (never more), exits 1 when it finds any. A string of the "
        "token's shape whose checksum fails is not reported. --revoke reports each as leaked: "
        "revoked at once, its owner told. Example: scan_for_tokens src/ settings.py"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Files or folders to scan.")
        parser.add_argument(
            "--revoke",
            action="store_true",
            help="Revoke every token found as leaked (its owner gets an e-mail).",
        )

    def handle(self, *args, **options) -> None:
        found = [
            (path, number, token)
            for path in _files(options["paths"])
            for number, token in _found(path)
        ]
        outcomes = (
            report_leaks([Report(token) for _, _, token in found], source=Source.SCAN)
            if options["revoke"] and found
            else None
        )
        for n, (path, number, token) in enumerate(found):
            said = f" ({_SAID[outcomes[n]]})" if outcomes is not None else ""
            self.stdout.write(f"{path}:{number}: enrt_…{token[-HINT_LENGTH:]}{said}")
        if found:
            raise CommandError(
                f"{len(found)} token{'s' if len(found) != 1 else ''} found"
                + ("; reported as leaked." if outcomes is not None else ": remove, then revoke."),
                returncode=1,
            )

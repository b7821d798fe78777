"""The README and docs/ point at what is there: sections by their names, files by their paths,
settings by the names the portal reads."""

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
README = PROJECT / "README.md"
DOCS = [README, *sorted((PROJECT / "docs").glob("*.md"))]
ENVIRONMENT_FILES = [PROJECT / ".env.example", PROJECT / "docs" / "production.env"]
# Where the portal reads its environment: the settings, and the two servers' own settings.
READERS = ["config/settings.py", "config/serve.py", "config/gunicorn.conf.py"]


def readme_sections() -> list[str]:
    return [
        line.lstrip("#").strip()
        for line in README.read_text().splitlines()
        if re.match(r"#{2,3} ", line)
    ]


def section_references(text: str) -> list[str]:
    """`see "Benchmark"`, `(README, "Configuration")`, `see *The validation cache*`, ..."""
    text = re.sub(r"\s+", " ", text)  # a name may be broken across lines
    quoted = re.findall(r'(?:[Ss]ee|README,) "([^"]+)"', text)
    emphasised = re.findall(r"(?:[Ss]ee|README) \(?\*([^*]+)\*", text)
    return quoted + emphasised


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_section_named_is_a_section_of_the_readme(document):
    sections = readme_sections()
    for name in section_references(document.read_text()):
        # A name may be the start of a longer heading ("Token lifecycle: rotation, ...").
        assert any(s == name or s.startswith(f"{name}:") for s in sections), name


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_file_named_exists(document):
    text = document.read_text()
    named = re.findall(r"\]\(([^)#]+)\)", text)  # links
    named += re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.\w+)`", text)  # `config/serve.py`
    for path in named:
        if path.startswith(("/", "http")):
            continue  # a path on the deployed machine, or another site
        base = document.parent if document != README else PROJECT
        assert (base / path).exists() or (PROJECT / path).exists(), path


@pytest.mark.parametrize("environment", ENVIRONMENT_FILES, ids=lambda path: path.name)
def test_every_variable_of_the_example_environments_is_read(environment):
    readers = "\n".join((PROJECT / reader).read_text() for reader in READERS)
    for line in environment.read_text().splitlines():
        match = re.match(r"#? ?([A-Z][A-Z0-9_]+)=", line)
        if match:
            name = match.group(1)
            assert f'"{name}"' in readers or f"'{name}'" in readers, name

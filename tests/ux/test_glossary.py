"""One vocabulary (issue 20, defect 10; docs/glossary.md): the templates, the admin's names and
the notices never use the words the glossary retires, and dates read one way, in UTC."""

import re
from pathlib import Path

import pytest

from tests.helpers import signed_in
from tokens.models import ReferenceToken, TokenEvent

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path for path in (ROOT / "templates").rglob("*") if path.suffix in (".html", ".txt")
)
# Word, and why it is retired: the glossary's use instead.
RETIRED = {
    r"user access token": "personal access token",
    r"reference tokens?\b": "token",
    r"application token": "service access token",
    r"generate token": "Create token",
    r"revoke this token": "Revoke",
    r"yes, revoke": "Revoke",
    r"\blive\b(?![-\w]*=)": "Active (works now) or Current (neither revoked nor expired)",
    r">\s*access tokens\s*<": "Personal access tokens",
    r"e-mail notices": "Notifications",
    r"token events": "audit events",
    r"never used": "Never",
    r"\d{4}-\d{2}-\d{2}|Y-m-d": "4 Jan 2027, 00:00 UTC (DATETIME_FORMAT)",
}


def _text(path: Path) -> str:
    # Comments are for people reading the template, not the page.
    source = path.read_text()
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.S)
    return re.sub(r"{#.*?#}", "", source, flags=re.S)


def test_the_glossary_exists_and_names_every_retired_word():
    glossary = (ROOT / "docs" / "glossary.md").read_text()
    for word in ("Personal access token", "Service access token", "Revoke", "Rotate", "Active"):
        assert word in glossary
    assert "live" in glossary and "user access token" in glossary


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_uses_a_retired_word(path):
    text = _text(path)
    found = {
        f"{match.group(0)!r} (use {use})"
        for pattern, use in RETIRED.items()
        for match in re.finditer(pattern, text, flags=re.I)
        if "aria-live" not in text[max(0, match.start() - 5) : match.end()]
    }
    assert not found


def test_the_admin_names_tokens_and_audit_events_as_the_glossary_does(admin_user):
    assert ReferenceToken._meta.verbose_name_plural == "tokens"
    assert TokenEvent._meta.verbose_name_plural == "audit events"
    page = signed_in(admin_user).get("/admin/tokens/referencetoken/").content.decode()
    assert "Select token to view" in page
    assert "Reference token" not in page and "reference token" not in page


def test_moments_read_one_way_in_utc_and_empty_values_one_way(admin_user, alice_token):
    token = alice_token.token
    page = signed_in(admin_user).get(f"/admin/tokens/referencetoken/{token.pk}/change/")
    html = page.content.decode()
    assert f"{token.expires_at:%-d %b %Y}, 00:00 UTC" in html
    assert f"{token.created_at:%-d %b %Y, %H:%M} UTC" in html
    # Never used, never revoked: the one empty value, not Django's "-".
    assert '<div class="readonly">-</div>' not in html
    assert '<div class="readonly">—</div>' in html
    profile = signed_in(token.user).get(f"/profile/security/tokens/{token.pk}/").content.decode()
    assert f"{token.expires_at:%-d %b %Y}, 00:00 UTC" in profile
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", profile)


def test_the_hint_and_the_kind_read_as_two_words(admin_user, alice_token):
    # Issue 20, defect 20: "enrt_…7DD0Personal" without a space.
    page = signed_in(admin_user).get("/admin/tokens/referencetoken/").content.decode()
    text = re.sub(r"<[^>]+>", "", page)
    assert f"{alice_token.token.masked} Personal" in text
    assert f"{alice_token.token.masked}Personal" not in text


def test_no_help_text_shows_raw_backticks(admin_user):
    from trustedapps.models import ResourceServer

    for field in ResourceServer._meta.get_fields():
        assert "`" not in str(getattr(field, "help_text", ""))

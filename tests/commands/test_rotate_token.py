"""manage.py rotate_token ID_OR_TOKEN|-: the new token alone on stdout."""

import re

import pytest
from django.core.management import CommandError

from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ROTATED, ReferenceToken

TOKEN_RE = re.compile(r"^enrt_[0-9A-F]{64}$")


def test_it_rotates_by_number_and_prints_only_the_new_token(run, alice_token):
    out = run("rotate_token", str(alice_token.token.pk))

    assert TOKEN_RE.match(out.stdout.strip()) and out.stdout.endswith("\n")
    new = ReferenceToken.objects.matching(out.stdout.strip()).get()
    assert new.rotated_from_id == alice_token.token.pk
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).revocation_reason == ROTATED
    assert f"Rotated personal access token #{alice_token.token.pk}" in out.stderr
    assert out.stdout.strip() not in out.stderr


def test_it_reads_the_token_from_stdin(run, alice_token, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(alice_token.plaintext + "\n"))
    out = run("rotate_token", "-")
    assert TOKEN_RE.match(out.stdout.strip())


def test_it_takes_the_token_itself(run, alice_token):
    assert TOKEN_RE.match(run("rotate_token", alice_token.plaintext).stdout.strip())


def test_a_shorter_lifetime_may_be_chosen(run, alice_token):
    new = ReferenceToken.objects.matching(
        run("rotate_token", str(alice_token.token.pk), "--expires-in-days", "3").stdout.strip()
    ).get()
    assert new.expires_at == expiry_in_days(3)


def test_the_replacement_stops_at_midnight_utc_after_as_many_days(run, alice_token):
    new = ReferenceToken.objects.matching(
        run("rotate_token", str(alice_token.token.pk)).stdout.strip()
    ).get()
    assert new.expires_at == expiry_in_days(30)  # 00:00:00 UTC, to the second


def test_a_longer_lifetime_than_the_token_was_given_is_refused(run, alice_token):
    with pytest.raises(CommandError, match="was given 30 days, so its replacement may have at"):
        run("rotate_token", str(alice_token.token.pk), "--expires-in-days", "31")
    assert ReferenceToken.objects.get().revoked_at is None


def test_a_revoked_token_is_refused(run, alice_token, alice):
    lifecycle.revoke_token(alice_token.token, by=alice)
    with pytest.raises(CommandError, match=r"cannot be rotated\. It is revoked\."):
        run("rotate_token", str(alice_token.token.pk))
    assert ReferenceToken.objects.count() == 1


def test_a_token_revoked_with_the_reason_rotated_is_called_revoked(run, alice_token):
    # The README's own example reason: no replacement exists, so none is mentioned.
    run("revoke_token", str(alice_token.token.pk), "--reason", "rotated")

    with pytest.raises(CommandError) as refusal:
        run("rotate_token", str(alice_token.token.pk))

    assert str(refusal.value).endswith("cannot be rotated. It is revoked.")
    assert "replacement" not in str(refusal.value)


def test_an_unknown_number_is_refused(run, db):
    with pytest.raises(CommandError, match="No token has the number 99"):
        run("rotate_token", "99")


def test_a_service_token_rotates_too(run, sync_service_token):
    out = run("rotate_token", str(sync_service_token.token.pk))
    assert ReferenceToken.objects.matching(out.stdout.strip()).get().kind == "service"

from datetime import timedelta

import pytest
from django.core.management.base import CommandError
from django.utils import timezone

from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken, TokenEvent


def age(issued, **fields) -> None:
    ReferenceToken.objects.filter(pk=issued.token.pk).update(**fields)


@pytest.fixture
def dead_and_alive(alice_token, sync_service_token, alice, sync_app):
    """An old revoked token, an old expired one, a recently revoked one, and a live one."""
    long_ago = timezone.now() - timedelta(days=100)
    expiry = expiry_in_days(5)
    recent = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry)
    alive = lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry)
    lifecycle.revoke_token(alice_token.token, by=alice)
    age(alice_token, revoked_at=long_ago)
    age(sync_service_token, expires_at=long_ago)
    lifecycle.revoke_token(recent.token, by=alice)
    return {"old": [alice_token, sync_service_token], "kept": [recent, alive]}


def test_it_deletes_tokens_dead_for_longer_than_the_retention(run, dead_and_alive):
    out = run("purge_tokens", "--days", "90")
    assert "Deleted 2 token(s)" in out.stdout
    remaining = set(ReferenceToken.objects.values_list("pk", flat=True))
    assert remaining == {issued.token.pk for issued in dead_and_alive["kept"]}
    assert not TokenEvent.objects.filter(token_id__in=[t.token.pk for t in dead_and_alive["old"]])


def test_a_dry_run_only_counts(run, dead_and_alive):
    out = run("purge_tokens", "--dry-run")
    assert "Would delete 2 token(s)" in out.stdout
    assert ReferenceToken.objects.count() == 4


def test_a_longer_retention_keeps_them(run, dead_and_alive):
    assert "Deleted 0 token(s)" in run("purge_tokens", "--days", "365").stdout
    assert ReferenceToken.objects.count() == 4


def test_it_refuses_a_retention_of_zero(run, db):
    with pytest.raises(CommandError, match="not a positive number"):
        run("purge_tokens", "--days", "0")

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tokens.models import ReferenceToken


def expire_in(issued, delta: timedelta) -> None:
    ReferenceToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() + delta)


def test_it_tells_the_owner_of_a_personal_token_about_to_expire(run, alice_token):
    expire_in(alice_token, timedelta(days=3))
    out = run("notify_expiring_tokens", "--days", "7")
    assert out.stdout == "Told alice@example.com about 1 token(s).\n"
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert f"enrt_…{alice_token.plaintext[-4:]}" in message.body
    assert "laptop sync" in message.body
    assert alice_token.plaintext not in message.body


def test_it_tells_the_admin_who_created_a_service_token(run, sync_service_token):
    expire_in(sync_service_token, timedelta(days=1))
    run("notify_expiring_tokens")
    [message] = mail.outbox
    assert message.to == ["admin@example.com"]
    assert "service access token for Sync" in message.body


def test_one_message_per_person_for_several_tokens(run, alice, sync_app):
    soon = timezone.now() + timedelta(days=2)
    for _ in range(3):
        ReferenceToken.objects.issue_personal(user=alice, application=sync_app, expires_at=soon)
    run("notify_expiring_tokens")
    [message] = mail.outbox
    assert message.body.count("enrt_…") == 3


@pytest.mark.parametrize("change", ["later", "revoked", "expired", "inactive_owner"])
def test_it_leaves_out_tokens_that_need_no_notice(run, alice_token, alice, change):
    expire_in(alice_token, timedelta(days=3))
    if change == "later":
        expire_in(alice_token, timedelta(days=8))
    elif change == "revoked":
        alice_token.token.revoke(by=alice)
    elif change == "expired":
        expire_in(alice_token, -timedelta(minutes=1))
    else:
        alice.is_active = False
        alice.save()
    out = run("notify_expiring_tokens", "--days", "7")
    assert out.stdout == "No token expires within the period.\n"
    assert mail.outbox == []


def test_a_dry_run_sends_nothing(run, alice_token):
    expire_in(alice_token, timedelta(days=3))
    out = run("notify_expiring_tokens", "--dry-run")
    assert out.stdout == "Would tell alice@example.com about 1 token(s).\n"
    assert mail.outbox == []

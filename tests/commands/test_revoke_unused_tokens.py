"""revoke_unused_tokens (issue 23): off by default; with a limit set, the owner of a token unused
that long less a week is warned once, and the token is revoked ("unused") a week or more later
unless it was used in between; the revocation is recorded, told and announced as any other."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.helpers import active, cached_and_active, eventually, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.management.commands import revoke_unused_tokens
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder
from trustedapps.models import InstanceTokenPolicy

LIMIT = 90


@pytest.fixture(autouse=True)
def _limit_of_90_days(request):
    """The limit set, but for the test of the default and the one that sets it itself."""
    if "off_by_default" in request.node.name or "at_once" in request.node.name:
        return
    if "worker" in request.fixturenames:
        return  # committed data: the test sets it
    request.getfixturevalue("db")
    InstanceTokenPolicy(unused_revoke_days=LIMIT).save()


def age(issued, *, made: int, used: int | None = None, warned: float | None = None) -> None:
    """The token made `made` days ago, last used `used` days ago, warned `warned` days ago."""
    now = timezone.now()
    ReferenceToken.objects.filter(pk=issued.token.pk).update(
        created_at=now - timedelta(days=made),
        last_used_at=None if used is None else now - timedelta(days=used),
        unused_warned_at=None if warned is None else now - timedelta(days=warned),
    )


def revoked(issued) -> bool:
    return ReferenceToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_it_is_off_by_default_and_keeps_every_token(run, alice_token):
    # "off_by_default" in the name: no limit is set for this test.
    age(alice_token, made=3000)
    out = run("revoke_unused_tokens")
    assert out.stdout == "Unused tokens are kept: no limit is set on Token policies.\n"
    assert not revoked(alice_token)
    assert mail.outbox == []


def test_the_owner_is_warned_once_a_week_before(run, alice_token):
    age(alice_token, made=82)  # never used: counts from its creation
    assert run("revoke_unused_tokens").stdout == "Nothing is due.\n"

    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        created_at=timezone.now() - timedelta(days=83, hours=1)
    )
    out = run("revoke_unused_tokens")
    again = run("revoke_unused_tokens")

    revoke_on = (timezone.now() + timedelta(days=7)).date()
    assert out.stdout == (
        f"Warned alice@example.com about 1 token(s) unused for 90 days, revoked from {revoke_on}.\n"
    )
    assert again.stdout == "Nothing is due.\n"
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert (
        message.subject
        == f"1 unused access token of yours will be revoked on {revoke_on:%-d %b %Y}"
    )
    assert f"enrt_…{alice_token.plaintext[-4:]}" in message.body
    assert alice_token.plaintext not in message.body
    assert not revoked(alice_token)


def test_it_is_revoked_a_week_after_the_warning_and_its_owner_told(
    run, alice_token, django_capture_on_commit_callbacks
):
    age(alice_token, made=200)  # the rule switched on long after its last use
    run("revoke_unused_tokens")
    assert not revoked(alice_token)  # warned first: nobody loses a token without a week's notice
    assert check_for_holder(alice_token.plaintext) is not None
    age(alice_token, made=200, warned=6)
    run("revoke_unused_tokens")
    assert not revoked(alice_token)

    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        last_used_at=None, unused_warned_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        out = run("revoke_unused_tokens")

    assert out.stdout == "Revoked 1 token(s) unused for 90 days.\n"
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revocation_reason == "unused" and token.revoked_by is None
    event = TokenEvent.objects.get(token=token, action="revoked")
    assert event.detail == "unused" and event.actor is None
    assert check_for_holder(alice_token.plaintext) is None
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "Reason given: unused" in message.body
    assert run("revoke_unused_tokens").stdout == "Nothing is due.\n"


def test_a_token_used_after_the_warning_is_spared(run, alice_token):
    age(alice_token, made=200)
    run("revoke_unused_tokens")
    assert check_for_holder(alice_token.plaintext) is not None  # a real use, recorded
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        unused_warned_at=timezone.now() - timedelta(days=8)
    )
    mail.outbox.clear()

    assert run("revoke_unused_tokens").stdout == "Nothing is due.\n"
    assert not revoked(alice_token)
    assert mail.outbox == []


def test_a_use_before_the_warning_voids_it_and_a_new_stretch_gets_its_own(run, alice_token):
    # Warned 30 days ago, used 20 days ago, unused since: its next warning is due at 83 days.
    age(alice_token, made=300, used=20, warned=30)
    assert run("revoke_unused_tokens").stdout == "Nothing is due.\n"
    age(alice_token, made=300, used=85, warned=90)
    out = run("revoke_unused_tokens")
    assert out.stdout.startswith("Warned alice@example.com about 1 token(s)")
    assert not revoked(alice_token)


def test_unused_counts_from_the_last_use_not_from_creation(run, alice_token):
    age(alice_token, made=1000, used=10)
    assert run("revoke_unused_tokens").stdout == "Nothing is due.\n"
    assert mail.outbox == []


def test_a_warning_kept_too_long_is_sent_again_before_anything_is_revoked(run, alice_token):
    # The rule was off for months after the warning: the owner is warned again.
    age(alice_token, made=400, warned=100)
    out = run("revoke_unused_tokens")
    assert out.stdout.startswith("Warned alice@example.com about 1 token(s)")
    assert not revoked(alice_token)


def test_a_service_tokens_warning_and_revocation_go_to_its_creator_and_operations(
    run, sync_service_token, settings, django_capture_on_commit_callbacks
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    age(sync_service_token, made=200)
    run("revoke_unused_tokens")
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "ops@example.com"]
    assert all("unused" in m.subject for m in mail.outbox)

    age(sync_service_token, made=200, warned=8)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        run("revoke_unused_tokens")
    assert revoked(sync_service_token)
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "ops@example.com"]
    assert all("Reason given: unused" in m.body for m in mail.outbox)


def test_people_who_turned_expiry_notices_off_are_still_warned(run, alice, alice_token):
    alice.notify_expiry = False
    alice.save()
    age(alice_token, made=200)
    run("revoke_unused_tokens")
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_mail_failure_records_no_warning_so_nothing_is_revoked_unwarned(
    run, alice_token, settings
):
    age(alice_token, made=200)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        run("revoke_unused_tokens")
    assert ReferenceToken.objects.get(pk=alice_token.token.pk).unused_warned_at is None


def test_a_dry_run_changes_nothing(run, alice_token, bob, sync_app):
    age(alice_token, made=200, warned=8)
    other = lifecycle.issue_personal(user=bob, application=sync_app, expires_at=expiry_in_days(30))
    age(other, made=100)
    mail.outbox.clear()

    out = run("revoke_unused_tokens", "--dry-run")

    assert out.stdout.splitlines()[0] == "Would revoke 1 token(s) unused for 90 days."
    assert out.stdout.splitlines()[1].startswith("Would warn bob@example.com about 1 token(s)")
    assert not revoked(alice_token)
    assert ReferenceToken.objects.get(pk=other.token.pk).unused_warned_at is None
    assert mail.outbox == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent runs need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_warn_and_revoke_each_token_once(alice, sync_app):
    InstanceTokenPolicy(unused_revoke_days=LIMIT).save()
    to_warn = [
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(30))
        for _ in range(5)
    ]
    to_revoke = [
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(30))
        for _ in range(5)
    ]
    for issued in to_warn:
        age(issued, made=200)
    for issued in to_revoke:
        age(issued, made=200, warned=8)
    mail.outbox.clear()  # the "token created" notices
    barrier = threading.Barrier(2)

    def run_once() -> None:
        try:
            barrier.wait()
            call_command("revoke_unused_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
        finally:
            connection.close()

    runs = [threading.Thread(target=run_once) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()

    warnings = [m for m in mail.outbox if "will be revoked" in m.subject]
    told = [hint for m in warnings for hint in re.findall(r"enrt_…\w+", m.body)]
    assert sorted(told) == sorted({f"enrt_…{i.plaintext[-4:]}" for i in to_warn})
    assert TokenEvent.objects.filter(action="revoked", detail="unused").count() == 5
    revocations = [m for m in mail.outbox if "revoked" in m.subject and m not in warnings]
    assert sum(m.body.count("enrt_…") for m in revocations) == 5
    assert all(revoked(issued) for issued in to_revoke)
    assert not any(revoked(issued) for issued in to_warn)


def test_a_revocation_for_going_unused_reaches_another_worker(
    worker, alice_token, orders_api, settings
):
    settings.TOKEN_LAST_USED_FLUSH = 0  # the checks below write their use at once
    InstanceTokenPolicy(unused_revoke_days=LIMIT).save()
    age(alice_token, made=200)
    cached_and_active(worker, alice_token.plaintext, orders_api)
    # Unused for long after all (columns whose change the cache need not hear of), and warned.
    long_ago = timezone.now() - timedelta(days=200)
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        last_used_at=long_ago, unused_warned_at=timezone.now() - timedelta(days=8)
    )
    assert active(worker, alice_token.plaintext, orders_api)

    call_command("revoke_unused_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_many_tokens_are_warned_of_and_revoked_a_chunk_at_a_time(
    run, alice, sync_app, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(revoke_unused_tokens, "CHUNK", 2)
    issued = [
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(30))
        for _ in range(5)
    ]
    for each in issued:
        age(each, made=200)
    mail.outbox.clear()

    out = run("revoke_unused_tokens")

    assert out.stdout.startswith("Warned alice@example.com about 5 token(s) unused for 90 days")
    assert [m.body.count("enrt_…") for m in mail.outbox] == [2, 2, 1]
    ReferenceToken.objects.update(unused_warned_at=timezone.now() - timedelta(days=8))
    with django_capture_on_commit_callbacks(execute=True):
        assert run("revoke_unused_tokens").stdout == "Revoked 5 token(s) unused for 90 days.\n"
    assert all(revoked(each) for each in issued)


def test_the_admin_token_page_says_what_the_owner_was_told(run, alice_token, admin_user):
    age(alice_token, made=200)
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        expires_at=timezone.now() + timedelta(days=5)
    )
    call_command("notify_expiring_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
    run("revoke_unused_tokens")

    page = signed_in(admin_user).get(f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/")

    content = page.content.decode()
    assert "that it expires within 7 days; on " in content
    assert "that it would be revoked unused" in content

"""notify_expiring_tokens: each reminder of the instance's schedule (by default 30, 7 and 1 days
before, and on expiry) once per token, whatever the cron schedule."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tokens.domain import lifecycle, reminders
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from trustedapps.models import InstanceTokenPolicy

LONG_AGO = timedelta(days=90)


def expire_in(issued, delta: timedelta, made: timedelta = LONG_AGO) -> None:
    """Its expiry `delta` from now, for a token made `made` ago (long ago: every stage counts)."""
    now = timezone.now()
    ReferenceToken.objects.filter(pk=issued.token.pk).update(
        expires_at=now + delta, created_at=now - made
    )


def made_long_ago() -> None:
    ReferenceToken.objects.update(created_at=timezone.now() - LONG_AGO)


def set_schedule(text: str) -> None:
    policy = InstanceTokenPolicy.current()
    policy.reminder_schedule = text
    policy.save()


def subjects() -> list[str]:
    return [m.subject for m in mail.outbox]


def test_it_tells_the_owner_of_a_personal_token_a_week_ahead(run, alice_token):
    expire_in(alice_token, timedelta(days=6))
    out = run("notify_expiring_tokens")
    assert out.stdout == "Told alice@example.com about 1 token(s) expiring within 7 days.\n"
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "1 access token expires within 7 days"
    assert f"enrt_…{alice_token.plaintext[-4:]}" in message.body
    assert "laptop sync" in message.body and "Sync" in message.body
    assert alice_token.plaintext not in message.body


def test_it_tells_again_the_day_before_and_then_never_again(run, alice_token):
    expire_in(alice_token, timedelta(days=6))
    run("notify_expiring_tokens")
    run("notify_expiring_tokens")  # an hour later: nothing new
    assert len(mail.outbox) == 1

    expire_in(alice_token, timedelta(hours=20))
    run("notify_expiring_tokens")
    run("notify_expiring_tokens")
    assert subjects() == [
        "1 access token expires within 7 days",
        "1 access token expires tomorrow",
    ]


def test_each_default_stage_once_then_on_expiry_and_never_again(run, alice_token):
    for left in (29, 20, 6, 3, 0.5, 0.2):
        expire_in(alice_token, timedelta(days=left))
        run("notify_expiring_tokens")
    expire_in(alice_token, -timedelta(hours=1))
    out = run("notify_expiring_tokens")
    run("notify_expiring_tokens")
    expire_in(alice_token, -timedelta(days=2))
    run("notify_expiring_tokens")

    assert out.stdout == "Told alice@example.com about 1 token(s) that expired.\n"
    assert subjects() == [
        "1 access token expires within 30 days",
        "1 access token expires within 7 days",
        "1 access token expires tomorrow",
        "1 access token of yours has expired",
    ]
    assert "An expired token cannot be rotated." in mail.outbox[-1].body
    assert ReferenceToken.objects.get().expiry_reminder_days == 0


def test_the_schedule_is_the_instances(run, alice_token):
    set_schedule("14 2")
    expire_in(alice_token, timedelta(days=20))
    run("notify_expiring_tokens")
    expire_in(alice_token, timedelta(days=10))
    run("notify_expiring_tokens")
    expire_in(alice_token, timedelta(days=1))
    run("notify_expiring_tokens")
    expire_in(alice_token, -timedelta(hours=1))  # no "on expiry" (0) in this schedule
    run("notify_expiring_tokens")
    assert subjects() == [
        "1 access token expires within 14 days",
        "1 access token expires within 2 days",
    ]


def test_an_empty_schedule_sends_no_reminder(run, alice_token):
    set_schedule("")
    expire_in(alice_token, timedelta(hours=5))
    assert run("notify_expiring_tokens").stdout == "No notice is due.\n"
    assert mail.outbox == []


def test_a_stage_that_a_schedule_change_puts_before_the_last_one_sent_is_not_sent(run, alice_token):
    expire_in(alice_token, timedelta(days=6))
    run("notify_expiring_tokens")
    set_schedule("30 14 7 1 0")  # 14 days now comes before the 7 days already sent
    run("notify_expiring_tokens")
    assert subjects() == ["1 access token expires within 7 days"]


def test_a_token_made_for_less_time_than_a_stage_never_gets_that_stage(run, alice_token):
    # Made for 5 days: the 30- and 7-day reminders would come before it existed.
    expire_in(alice_token, timedelta(days=4), made=timedelta(days=1))
    assert run("notify_expiring_tokens").stdout == "No notice is due.\n"
    expire_in(alice_token, timedelta(hours=20), made=timedelta(days=4, hours=4))
    run("notify_expiring_tokens")
    assert subjects() == ["1 access token expires tomorrow"]


def test_a_token_just_made_for_30_days_gets_no_reminder_at_once(run, alice_token):
    assert run("notify_expiring_tokens").stdout == "No notice is due.\n"


def test_after_missed_runs_a_token_due_tomorrow_gets_the_tomorrow_notice(run, alice_token):
    # Nothing ran during the week: the notice that still means something is sent, once.
    expire_in(alice_token, timedelta(hours=5))
    run("notify_expiring_tokens")
    run("notify_expiring_tokens")
    assert subjects() == ["1 access token expires tomorrow"]


def test_a_mail_failure_records_nothing_so_the_next_run_sends_it(run, alice_token, settings):
    expire_in(alice_token, timedelta(days=3))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with pytest.raises(OSError):
        run("notify_expiring_tokens")
    assert ReferenceToken.objects.get().expiry_reminder_days is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run("notify_expiring_tokens")
    assert len(mail.outbox) == 1


def test_it_tells_the_admin_who_created_a_service_token_and_operations(
    run, sync_service_token, settings
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    expire_in(sync_service_token, timedelta(days=1))
    run("notify_expiring_tokens")
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@example.com", "ops@example.com"]
    assert "service access token" in mail.outbox[0].body


def test_one_message_per_person_for_several_tokens(run, alice, sync_app):
    soon = expiry_in_days(2)
    for _ in range(3):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=soon)
    made_long_ago()
    run("notify_expiring_tokens")
    [message] = mail.outbox
    assert message.body.count("enrt_…") == 3


def test_people_who_turned_expiry_notices_off_are_not_told(run, alice, alice_token):
    alice.notify_expiry = False
    alice.save()
    expire_in(alice_token, timedelta(days=3))
    out = run("notify_expiring_tokens")
    assert out.stdout == "No notice is due.\n"
    assert mail.outbox == []


@pytest.mark.parametrize("change", ["later", "revoked", "expired_long_ago", "inactive_owner"])
def test_it_leaves_out_tokens_that_need_no_notice(run, alice_token, alice, change):
    expire_in(alice_token, timedelta(days=3))
    if change == "later":
        expire_in(alice_token, timedelta(days=31))
    elif change == "revoked":
        lifecycle.revoke_token(alice_token.token, by=alice)
    elif change == "expired_long_ago":  # before the "on expiry" notice's window
        expire_in(alice_token, -timedelta(days=8))
    else:
        alice.is_active = False
        alice.save()
    out = run("notify_expiring_tokens")
    assert out.stdout == "No notice is due.\n"
    assert mail.outbox == []


def test_a_dry_run_sends_and_records_nothing(run, alice_token):
    expire_in(alice_token, timedelta(days=3))
    out = run("notify_expiring_tokens", "--dry-run")
    assert out.stdout == "Would tell alice@example.com about 1 token(s) expiring within 7 days.\n"
    assert mail.outbox == []
    assert ReferenceToken.objects.get().expiry_reminder_days is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent runs need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_notice_once(alice, sync_app):
    soon = expiry_in_days(3)
    for _ in range(5):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=soon)
    made_long_ago()
    mail.outbox.clear()  # the "token created" notices
    barrier = threading.Barrier(2)

    def run_once() -> None:
        try:
            barrier.wait()
            call_command("notify_expiring_tokens", stdout=open("/dev/null", "w"))  # noqa: SIM115
        finally:
            connection.close()

    runs = [threading.Thread(target=run_once) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()

    told = [token for message in mail.outbox for token in message.body.split() if "enrt_…" in token]
    assert len(told) == 5 == len(set(told))
    assert set(ReferenceToken.objects.values_list("expiry_reminder_days", flat=True)) == {7}


def test_a_run_reads_only_the_tokens_it_may_have_to_tell(alice_token):
    # Sent "within 30 days" and 20 days left: not even read until it is within 7 days.
    expire_in(alice_token, timedelta(days=20))
    ReferenceToken.objects.update(expiry_reminder_days=30)
    now = timezone.now()
    assert list(reminders.candidates([30, 7, 1, 0], now)) == []
    expire_in(alice_token, timedelta(days=6))
    assert list(reminders.candidates([30, 7, 1, 0], now)) == [alice_token.token]

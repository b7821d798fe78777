"""Rotation: a live token is replaced by a new one with the same facts, in one transaction."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.utils import timezone

from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ROTATED, ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder


def test_the_new_token_keeps_the_facts_of_the_old_one(alice, alice_token, update_scope):
    old = alice_token.token
    issued = lifecycle.rotate(old, by=alice, ip="192.0.2.7")
    new = issued.token

    assert (new.kind, new.user, new.application, new.description) == (
        old.kind,
        old.user,
        old.application,
        old.description,
    )
    assert set(new.scopes.all()) == set(old.scopes.all())
    assert new.rotated_from == old
    old.refresh_from_db()
    assert old.rotated_to == new
    assert old.revoked_at is not None
    assert old.revoked_by == alice
    assert old.revocation_reason == ROTATED
    assert check_for_holder(issued.plaintext) is not None
    assert check_for_holder(alice_token.plaintext) is None


def test_the_audit_trail_shows_one_rotated_event_naming_both(alice, alice_token):
    old = alice_token.token
    new = lifecycle.rotate(old, by=alice, ip="192.0.2.7").token

    rotation = TokenEvent.objects.exclude(action=TokenEvent.Action.ISSUED)
    [event] = rotation
    assert (event.action, event.token, event.new_token) == ("rotated", old, new)
    assert event.actor == alice
    assert event.ip == "192.0.2.7"
    assert old.masked in event.detail and new.masked in event.detail
    assert list(TokenEvent.objects.of_token(new)) == [event]


def test_the_new_expiry_is_the_old_lifetime_in_days_at_midnight_utc(alice, sync_app):
    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(10)
    )
    new = lifecycle.rotate(issued.token, by=alice).token

    assert new.expires_at == expiry_in_days(10)
    assert (new.expires_at.hour, new.expires_at.minute, new.expires_at.second) == (0, 0, 0)
    assert new.expires_at.microsecond == 0 and new.expires_at.utcoffset() == timedelta(0)


def test_the_days_count_from_today_so_a_rotation_the_same_day_is_never_longer(alice, sync_app):
    # Made at 00:00:01 UTC for 10 days and rotated later that day: the replacement stops on
    # the same day as the old token, so it lives less than the old one did.
    morning = timezone.now().replace(hour=0, minute=0, second=1, microsecond=0)
    old = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(10)
    ).token
    ReferenceToken.objects.filter(pk=old.pk).update(created_at=morning)
    old.refresh_from_db()

    new = lifecycle.rotate(old, by=alice).token

    assert new.expires_at == old.expires_at
    assert new.expires_at - new.created_at <= old.expires_at - old.created_at


def test_rotation_after_rotation_keeps_the_days_the_owner_chose(alice, sync_app):
    # Made late yesterday for 10 days (it stops in 9 days' time), rotated today: the
    # replacement gets 10 days from today. Counting seconds instead would lose a whole day at
    # every rotation made at an earlier hour than the last, until a scheduled job's token
    # could no longer be rotated at all; in days, no token of the chain outlives 10 of them.
    yesterday_late = timezone.now().replace(hour=23, minute=0, second=0) - timedelta(days=1)
    old = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(9)
    ).token
    ReferenceToken.objects.filter(pk=old.pk).update(created_at=yesterday_late)
    old.refresh_from_db()
    assert old.lifetime_days == 10

    new = lifecycle.rotate(old, by=alice).token
    newer = lifecycle.rotate(new, by=alice).token

    assert new.expires_at == newer.expires_at == expiry_in_days(10)
    assert newer.expires_at - newer.created_at <= timedelta(days=10)


def test_the_new_expiry_is_capped_by_the_applications_longest_lifetime(alice, sync_app):
    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(300)
    )
    sync_app.max_token_lifetime_days = 20
    sync_app.save()

    new = lifecycle.rotate(issued.token, by=alice).token

    assert new.expires_at == expiry_in_days(20)
    assert new.expires_at - new.created_at <= timedelta(days=20)


def test_a_chosen_lifetime_beyond_the_applications_longest_is_refused(alice, alice_token):
    with pytest.raises(ValidationError, match="at most 365 days"):
        lifecycle.rotate(alice_token.token, by=alice, expires_in_days=366)
    assert ReferenceToken.objects.get().revoked_at is None


@pytest.mark.parametrize("by_holder", [False, True])
def test_a_chosen_lifetime_beyond_the_old_tokens_is_refused_on_every_path(
    alice, sync_app, by_holder
):
    old = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(1)
    ).token

    with pytest.raises(ValidationError, match="was given 1 day, so its replacement") as refusal:
        lifecycle.rotate(old, by=None, expires_in_days=2, by_holder=by_holder)

    assert refusal.value.error_dict["expires_at"][0].code == "longer_than_original"
    assert ReferenceToken.objects.get().revoked_at is None


def test_a_shorter_lifetime_may_be_chosen(alice, alice_token):
    new = lifecycle.rotate(alice_token.token, by=alice, expires_in_days=3).token
    assert new.expires_at == expiry_in_days(3)


def test_a_token_that_never_expires_gets_the_applications_default_lifetime(alice, alice_token):
    # No application allows tokens that never expire (its longest lifetime always applies).
    ReferenceToken.objects.update(expires_at=None)
    old = ReferenceToken.objects.get()

    assert lifecycle.rotate(old, by=alice).token.expires_at == expiry_in_days(30)


def test_a_token_that_never_expires_may_get_up_to_the_applications_longest(alice, alice_token):
    ReferenceToken.objects.update(expires_at=None)
    old = ReferenceToken.objects.get()

    assert lifecycle.rotate(old, by=alice, expires_in_days=365).token.expires_at == expiry_in_days(
        365
    )


def test_an_application_may_keep_rotation_from_holders_but_not_from_people(
    alice, alice_token, sync_app
):
    sync_app.holders_may_rotate = False
    sync_app.save()

    with pytest.raises(ValidationError, match="does not let its tokens rotate themselves") as no:
        lifecycle.rotate(alice_token.token, by=None, by_holder=True)
    assert no.value.code == "holder_rotation_off"
    assert ReferenceToken.objects.get().revoked_at is None

    assert lifecycle.rotate(alice_token.token, by=alice).token.rotated_from == alice_token.token


def test_applications_let_holders_rotate_by_default(sync_app):
    assert sync_app.holders_may_rotate


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("revoked", "It is revoked."),
        ("expired", "It has expired."),
        ("user_inactive", "suspended: its user is inactive"),
        ("app_disabled", "suspended: the application is disabled"),
        ("policy_none", "suspended: application policy no longer allows personal"),
        ("scopes_gone", "suspended: the application no longer allows any of its scopes"),
        ("rotated", "already rotated"),
    ],
)
def test_a_token_that_is_not_live_is_not_rotated(alice, alice_token, sync_app, change, message):
    token = alice_token.token
    if change == "revoked":
        lifecycle.revoke_token(token, by=alice)
    elif change == "expired":
        ReferenceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    elif change == "user_inactive":
        alice.is_active = False
        alice.save()
    elif change == "app_disabled":
        sync_app.is_enabled = False
        sync_app.save()
    elif change == "policy_none":
        sync_app.token_policy = "none"
        sync_app.save()
    elif change == "scopes_gone":
        sync_app.allowed_scopes.clear()
    else:
        lifecycle.rotate(token, by=alice)
    count = ReferenceToken.objects.count()

    with pytest.raises(ValidationError, match=message) as refusal:
        lifecycle.rotate(token, by=alice)

    assert refusal.value.code == "not_live"
    assert ReferenceToken.objects.count() == count


def test_a_service_token_rotates_into_a_service_token_of_the_same_system_user(
    carol, sync_service_token
):
    old = sync_service_token.token
    new = lifecycle.rotate(old, by=carol).token

    assert new.kind == "service"
    assert new.user == old.user


def test_a_rotation_keeps_the_creator_and_records_who_rotated(
    carol, admin_user, sync_service_token
):
    # The admin issued it and is responsible for it (its notices go to them); carol rotates.
    old = sync_service_token.token
    new = lifecycle.rotate(old, by=carol).token

    assert new.created_by == admin_user
    assert TokenEvent.objects.get(action=TokenEvent.Action.ROTATED, new_token=new).actor == carol


def test_a_token_revoked_with_the_reason_rotated_is_revoked_not_rotated(alice, alice_token):
    # "rotated" is free text here: only a replacement (rotated_to) makes a token rotated.
    token = alice_token.token
    lifecycle.revoke_token(token, by=alice, reason=ROTATED)

    assert token.replacement is None
    assert token.unusable_reason() == "It is revoked."
    with pytest.raises(ValidationError) as refusal:
        lifecycle.rotate(token, by=alice)
    assert refusal.value.messages == [f"Token {token.masked} cannot be rotated. It is revoked."]


def test_a_rotated_token_says_so_whatever_its_reason(alice, alice_token):
    token = alice_token.token
    lifecycle.rotate(token, by=alice)
    ReferenceToken.objects.filter(pk=token.pk).update(revocation_reason="")
    token.refresh_from_db()

    assert token.unusable_reason() == "It was already rotated: use (or rotate) its replacement."


@pytest.mark.parametrize("who", ["admin_user", "carol", "bob"])
def test_nobody_but_its_owner_rotates_a_personal_token(request, who, alice_token):
    # Whoever rotates is shown the new token: a superuser, an instance admin, anyone else would
    # then hold a token acting as alice. The rule is the model's, whatever page or command asks.
    with pytest.raises(ValidationError, match="only its owner may rotate it") as refusal:
        lifecycle.rotate(alice_token.token, by=request.getfixturevalue(who))

    assert refusal.value.code == "not_allowed"
    assert ReferenceToken.objects.count() == 1
    assert check_for_holder(alice_token.plaintext) is not None
    assert not TokenEvent.objects.filter(action=TokenEvent.Action.ROTATED).exists()


def test_the_owner_and_the_token_itself_still_rotate_a_personal_token(alice, alice_token):
    by_owner = lifecycle.rotate(alice_token.token, by=alice)
    by_itself = lifecycle.rotate(by_owner.token, by=None)
    assert check_for_holder(by_itself.plaintext).username == "alice"


def test_a_person_who_may_not_issue_service_tokens_cannot_rotate_one(bob, sync_service_token):
    with pytest.raises(ValidationError, match="only instance administrators") as refusal:
        lifecycle.rotate(sync_service_token.token, by=bob)

    assert refusal.value.code == "not_allowed"
    assert check_for_holder(sync_service_token.plaintext) is not None


def test_a_failure_between_revoke_and_issue_leaves_the_old_token_active(
    alice, alice_token, monkeypatch
):
    # The new token's hash collides with the old one's: the insert fails after the revoke ran.
    monkeypatch.setattr(lifecycle, "make_token", lambda: alice_token.plaintext)

    with pytest.raises(IntegrityError):
        lifecycle.rotate(alice_token.token, by=alice)

    token = ReferenceToken.objects.get()
    assert token.revoked_at is None
    assert check_for_holder(alice_token.plaintext) is not None
    assert not TokenEvent.objects.filter(action=TokenEvent.Action.ROTATED).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL (SQLite locks the file)"
)
@pytest.mark.django_db(transaction=True)
def test_two_rotations_at_once_make_exactly_one_new_token(alice, sync_app):
    old = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(30)
    ).token
    threads = 4
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []

    def rotate() -> None:
        try:
            barrier.wait()
            lifecycle.rotate(old, by=None)
            outcomes.append("rotated")
        except ValidationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    workers = [threading.Thread(target=rotate) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(outcomes) == ["not_live"] * (threads - 1) + ["rotated"]
    assert ReferenceToken.objects.filter(rotated_from=old).count() == 1
    assert TokenEvent.objects.filter(action=TokenEvent.Action.ROTATED).count() == 1

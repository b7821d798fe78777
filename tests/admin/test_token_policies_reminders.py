"""The admin page "Token policies": the expiry reminder schedule and the limit on unused tokens
(issue 23), validated, kept when a form leaves them out, audited with old and new values."""

import logging

import pytest
from django.contrib.admin.models import LogEntry

from tests.helpers import signed_in
from trustedapps.models import InstanceTokenPolicy

POLICIES = "/admin/trustedapps/instancetokenpolicy/1/change/"


def policy_form(**values) -> dict:
    data = {}
    for kind in ("personal", "service"):
        for rule in ("lifetime", "expiry", "chain"):
            data[f"{kind}_{rule}_mode"] = "off"
    return {"reminder_schedule": "30 7 1 0", "unused_revoke_days": "", **data, **values}


def test_the_defaults_are_30_7_1_days_and_on_expiry_and_unused_tokens_kept(admin_user):
    policy = InstanceTokenPolicy.current()
    assert policy.reminder_stages == [30, 7, 1, 0]
    assert policy.unused_revoke_days is None
    page = signed_in(admin_user).get(POLICIES).content.decode()
    assert "Expiry reminders and unused tokens" in page
    assert 'value="30 7 1 0"' in page


def test_an_admin_sets_the_schedule_in_any_order_and_it_is_kept_largest_first(admin_user):
    response = signed_in(admin_user).post(
        POLICIES, policy_form(reminder_schedule="1, 14,60 0", unused_revoke_days="90")
    )
    assert response.status_code == 302
    policy = InstanceTokenPolicy.current()
    assert policy.reminder_schedule == "60 14 1 0"
    assert policy.unused_revoke_days == 90


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("30 -7", "Give whole days before expiry separated by spaces"),
        ("30 7.5", "Give whole days before expiry separated by spaces"),
        ("a week", "Give whole days before expiry separated by spaces"),
        ("60 30 14 7 1 0", "At most 5 reminders."),
        ("400 7", "At most 365 days before expiry."),
    ],
)
def test_a_schedule_that_is_not_whole_days_is_refused_and_nothing_saved(
    admin_user, schedule, message
):
    response = signed_in(admin_user).post(POLICIES, policy_form(reminder_schedule=schedule))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not InstanceTokenPolicy.objects.exists()


@pytest.mark.parametrize("days", ["7", "0", "-3", "ninety"])
def test_an_unused_limit_of_a_week_or_less_is_refused(admin_user, days):
    response = signed_in(admin_user).post(POLICIES, policy_form(unused_revoke_days=days))
    assert response.status_code == 200
    assert not InstanceTokenPolicy.objects.exists()


def test_a_form_without_the_schedule_keeps_it(admin_user):
    InstanceTokenPolicy(reminder_schedule="14 1", unused_revoke_days=60).save()
    data = policy_form()
    del data["reminder_schedule"], data["unused_revoke_days"]
    assert signed_in(admin_user).post(POLICIES, data).status_code == 302
    policy = InstanceTokenPolicy.current()
    assert (policy.reminder_schedule, policy.unused_revoke_days) == ("14 1", 60)


def test_every_change_is_audited_with_old_and_new_values(admin_user, caplog):
    browser = signed_in(admin_user)
    browser.post(POLICIES, policy_form())
    with caplog.at_level(logging.INFO, logger="portal.security"):
        browser.post(POLICIES, policy_form(reminder_schedule="14 1", unused_revoke_days="90"))

    entry = LogEntry.objects.order_by("-action_time").first()
    message = entry.get_change_message()
    assert message.startswith("Changed token policies: ")
    assert "Expiry reminders (days before expiry): 30 7 1 0 → 14 1" in message
    assert "Revoke tokens unused for (days): — → 90" in message
    assert "token_policy.changed" in caplog.text
    assert "30 7 1 0 → 14 1" in caplog.text

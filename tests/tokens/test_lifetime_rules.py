"""Lifetime rules (issue 23): refused at issue and rotation with the limit named, suspended at
use while enforced, active again once relaxed; the stricter of instance and application wins;
every change of a rule is audited with its old and new values."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from tests.helpers import FORM, in_days, signed_in
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ReferenceToken
from tokens.validation.checks import check_for_holder
from trustedapps.models import InstanceTokenPolicy

LONGER = "Suspended: longer than this instance allows"


def set_instance(**fields) -> None:
    policy = InstanceTokenPolicy.current()
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


def state_of(issued) -> str:
    return ReferenceToken.objects.get(pk=issued.token.pk).state.label


# --- Issuing --------------------------------------------------------------------------------


def test_issuing_past_the_instance_limit_is_refused_with_the_limit(alice, sync_app):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=14)

    with pytest.raises(ValidationError, match="This instance allows personal access tokens of at"):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(30))
    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(14)
    )
    assert state_of(issued) == "Active"


def test_the_stricter_rule_wins_and_is_the_one_named(alice, sync_app):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=60)
    sync_app.personal_lifetime_mode, sync_app.personal_lifetime_days = "enforce", 7
    sync_app.save()

    with pytest.raises(ValidationError, match="Sync allows personal access tokens of at most 7 d"):
        lifecycle.issue_personal(user=alice, application=sync_app, expires_at=expiry_in_days(30))


def test_a_rule_of_the_other_kind_does_not_apply(alice, sync_app):
    set_instance(service_lifetime_mode="enforce", service_lifetime_days=7)

    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(30)
    )

    assert state_of(issued) == "Active"


def test_a_rule_in_report_mode_blocks_nothing(alice, sync_app):
    set_instance(personal_lifetime_mode="report", personal_lifetime_days=7)

    issued = lifecycle.issue_personal(
        user=alice, application=sync_app, expires_at=expiry_in_days(30)
    )

    token = ReferenceToken.objects.get(pk=issued.token.pk)
    assert (token.state.label, token.state.would_refuse) == ("Active", True)
    assert check_for_holder(issued.plaintext) is not None


def test_the_profile_form_shows_the_limit(alice, sync_app):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=14)
    browser = signed_in(alice)
    url = "/profile/security/tokens/new/"
    key = re.search(r'name="form_key" value="([^"]+)"', browser.get(url).content.decode())[1]

    response = browser.post(
        url,
        {
            "application": sync_app.pk,
            "description": "deploy bot",
            "expires_at": in_days(30),
            "scopes": [sync_app.allowed_scopes.first().pk],
            "form_key": key,
        },
    )

    assert response.status_code == 400
    assert "This instance allows personal access tokens of at most 14 days." in (
        response.content.decode()
    )
    assert not ReferenceToken.objects.exists()


def test_the_admin_issuing_form_shows_the_limit(admin_user, sync_app):
    sync_app.service_lifetime_mode, sync_app.service_lifetime_days = "enforce", 10
    sync_app.save()
    browser = signed_in(admin_user)
    url = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/"
    key = browser.get(url).context["form"].initial["form_key"]

    response = browser.post(
        url,
        {
            "description": "nightly export",
            "expires_at": in_days(30),
            "scopes": [sync_app.allowed_scopes.first().pk],
            "form_key": key,
        },
    )

    assert "Sync allows service access tokens of at most 10 days." in response.content.decode()
    assert not ReferenceToken.objects.exists()


# --- Rotating -------------------------------------------------------------------------------


def test_the_api_rotation_is_refused_with_the_limit(alice_token):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=40)
    set_instance(personal_chain_mode="enforce", personal_chain_days=45)
    # The chain began 20 days ago: a 30-day replacement would end it 50 days after its start.
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(
        created_at=timezone.now() - timedelta(days=20),
        chain_started_at=timezone.now() - timedelta(days=20),
        expires_at=expiry_in_days(10),
    )

    response = Client().post(
        "/api/tokens/self/rotate",
        "expires_in_days=30",
        content_type=FORM,
        HTTP_AUTHORIZATION=f"Bearer {alice_token.plaintext}",
    )

    assert response.status_code == 400
    assert response.json()["error_description"].startswith(
        "This instance allows a rotation chain of personal access tokens of at most 45 days in all."
    )
    assert ReferenceToken.objects.get().revoked_at is None


def test_the_command_rotation_is_refused_with_the_limit(alice_token):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=20)

    with pytest.raises(CommandError, match="personal access tokens of at most 20 days"):
        call_command("rotate_token", str(alice_token.token.pk), stdout=io.StringIO())
    replaced = call_command(
        "rotate_token", str(alice_token.token.pk), "--expires-in-days", "20", stdout=io.StringIO()
    )
    assert replaced is None
    assert ReferenceToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_rotation_keeps_its_chains_start(alice_token):
    old = ReferenceToken.objects.get(pk=alice_token.token.pk)

    new = lifecycle.rotate(old, by=None).token

    assert new.chain_started_at == old.chain_started_at == old.created_at


# --- At use ---------------------------------------------------------------------------------


def test_an_existing_long_token_is_suspended_at_use_and_active_again_when_relaxed(alice_token):
    assert check_for_holder(alice_token.plaintext) is not None

    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=7)
    assert check_for_holder(alice_token.plaintext) is None
    assert state_of(alice_token) == LONGER

    set_instance(personal_lifetime_mode="report")
    assert check_for_holder(alice_token.plaintext) is not None
    assert state_of(alice_token) == "Active"

    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=30)
    assert check_for_holder(alice_token.plaintext) is not None


def test_a_token_that_never_expires_is_suspended_when_an_expiry_is_required(alice_token):
    ReferenceToken.objects.filter(pk=alice_token.token.pk).update(expires_at=None)
    set_instance(personal_expiry_mode="enforce")

    assert check_for_holder(alice_token.plaintext) is None
    assert state_of(alice_token) == LONGER


def test_a_suspended_long_token_may_be_rotated_into_a_shorter_one(alice, alice_token):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=7)

    new = lifecycle.rotate(alice_token.token, by=alice, expires_in_days=7)

    assert ReferenceToken.objects.get(pk=new.token.pk).state.label == "Active"


# --- The admin pages ------------------------------------------------------------------------


def rule_form(**values) -> dict:
    data = {}
    for kind in ("personal", "service"):
        for rule in ("lifetime", "expiry", "chain"):
            data[f"{kind}_{rule}_mode"] = "off"
    return {**data, **values}


def test_the_token_policies_page_saves_and_audits_old_and_new_values(admin_user, alice_token):
    browser = signed_in(admin_user)
    assert browser.get("/admin/trustedapps/instancetokenpolicy/")["Location"] == (
        "/admin/trustedapps/instancetokenpolicy/1/change/"
    )
    page = browser.get("/admin/trustedapps/instancetokenpolicy/1/change/")
    assert page.status_code == 200

    response = browser.post(
        "/admin/trustedapps/instancetokenpolicy/1/change/",
        rule_form(personal_lifetime_mode="report", personal_lifetime_days="90"),
    )
    assert response.status_code == 302
    response = browser.post(
        "/admin/trustedapps/instancetokenpolicy/1/change/",
        rule_form(personal_lifetime_mode="report", personal_lifetime_days="60"),
    )
    assert response.status_code == 302

    assert InstanceTokenPolicy.current().personal_lifetime_days == 60
    entry = LogEntry.objects.order_by("-action_time").first()
    assert "Personal: longest lifetime (days): 90 → 60" in entry.get_change_message()


def test_a_rule_on_without_days_is_refused(admin_user):
    response = signed_in(admin_user).post(
        "/admin/trustedapps/instancetokenpolicy/1/change/",
        rule_form(service_chain_mode="enforce"),
    )
    assert response.status_code == 200
    assert "Say how many days (the rule is on)." in response.content.decode()
    assert not InstanceTokenPolicy.objects.exists()


def test_the_application_page_shows_the_rules_in_force(admin_user, sync_app):
    set_instance(personal_lifetime_mode="enforce", personal_lifetime_days=90)
    sync_app.personal_lifetime_mode, sync_app.personal_lifetime_days = "report", 30
    sync_app.save()

    page = signed_in(admin_user).get(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")

    assert "longest lifetime 90 days (instance, enforced)" in page.content.decode()


def test_an_application_rule_change_is_audited_with_old_and_new_values(admin_user, sync_app):
    browser = signed_in(admin_user)
    url = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/"
    form = browser.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "allowed_scopes"}
    data["allowed_scopes"] = [scope.pk for scope in sync_app.allowed_scopes.all()]
    data.update(service_chain_mode="report", service_chain_days="365")

    assert browser.post(url, data).status_code == 302

    entry = LogEntry.objects.order_by("-action_time").first()
    message = entry.get_change_message()
    assert "Service: longest rotation chain: off → report" in message
    assert "Service: longest rotation chain (days): — → 365" in message


def test_chains_rotated_before_they_were_recorded_get_their_start(alice, alice_token):
    import importlib

    from django.apps import apps

    first = ReferenceToken.objects.get(pk=alice_token.token.pk)
    second = lifecycle.rotate(first, by=alice).token
    third = lifecycle.rotate(second, by=alice).token
    ReferenceToken.objects.update(chain_started_at=None)

    migration = importlib.import_module("tokens.migrations.0011_backfill_chain_started_at")
    migration.backfill(apps, None)

    starts = dict(ReferenceToken.objects.values_list("pk", "chain_started_at"))
    assert starts[third.pk] == starts[second.pk] == first.created_at
    assert starts[first.pk] is None  # its own creation, as an unrecorded start reads

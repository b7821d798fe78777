"""manage.py token_status: what the one status rule says of a token, as the pages say it."""

import pytest
from django.core.management import CommandError

from tokens.domain import lifecycle
from trustedapps.models import InstanceTokenPolicy


def test_it_prints_the_label_of_an_active_token(run, alice_token):
    token = alice_token.token
    output = run("token_status", str(token.pk))
    assert output.stdout == f"Token #{token.pk} ({token.masked}): Active\n"


def test_it_takes_the_token_itself(run, alice_token):
    assert run("token_status", alice_token.plaintext).stdout.endswith(": Active\n")


def test_it_says_why_a_token_is_suspended(run, alice_token):
    InstanceTokenPolicy(personal_lifetime_mode="enforce", personal_lifetime_days=7).save()
    output = run("token_status", str(alice_token.token.pk))
    assert output.stdout.endswith(": Suspended: longer than this instance allows\n")


def test_it_says_when_a_report_only_rule_would_refuse_it(run, alice_token):
    InstanceTokenPolicy(personal_lifetime_mode="report", personal_lifetime_days=7).save()
    output = run("token_status", str(alice_token.token.pk))
    assert output.stdout.endswith(": Active (a lifetime rule in report mode would refuse it)\n")


def test_a_revoked_token_is_revoked(run, alice, alice_token):
    lifecycle.revoke_token(alice_token.token, by=alice)
    assert run("token_status", str(alice_token.token.pk)).stdout.endswith(": Revoked\n")


def test_an_unknown_number_is_refused(run, db):
    with pytest.raises(CommandError):
        run("token_status", "424242")

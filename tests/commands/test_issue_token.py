from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens.format import is_well_formed
from tokens.models import ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder
from tokens.web.forms import start_of_day_utc, today_utc


def midnight_utc_in(days: int):
    return start_of_day_utc(today_utc() + timedelta(days=days))


def test_it_prints_a_personal_token_alone_on_stdout(run, alice, sync_app):
    out = run(
        "issue_token",
        "personal",
        "--user",
        "alice",
        "--app",
        "com.example/sync",
        "--scopes",
        "read",
        "--expires-in-days",
        "7",
        "--description",
        "backup script",
    )
    plaintext = out.stdout.removesuffix("\n")
    assert out.stdout == plaintext + "\n"
    assert is_well_formed(plaintext)
    assert plaintext not in out.stderr
    token = ReferenceToken.objects.get()
    assert f"#{token.pk} acting as alice for com.example/sync, scopes read" in out.stderr
    assert (token.kind, token.user, token.created_by) == ("personal", alice, alice)
    assert token.description == "backup script"
    # 00:00 UTC, 7 days from today, as the browser's tokens expire.
    assert token.expires_at == midnight_utc_in(7)
    assert "expires " + f"{midnight_utc_in(7):%-d %b %Y} 00:00 UTC" in out.stderr
    active = check_for_holder(plaintext)
    assert (active.username, active.scopes) == ("alice", ("read",))


def test_it_prints_a_service_token_acting_as_the_system_user(run, carol, sync_app):
    out = run("issue_token", "service", "--app", "com.example/sync", "--as-admin", "carol")
    plaintext = out.stdout.strip()
    token = ReferenceToken.objects.get()
    assert (token.kind, token.user, token.created_by) == ("service", sync_app.system_user, carol)
    assert check_for_holder(plaintext).username == "app.com.example-sync"
    assert token.events.get().actor == carol


def test_by_default_it_gives_all_scopes_and_30_days(run, alice, sync_app):
    run("issue_token", "personal", "--user", "alice", "--app", "com.example/sync")
    token = ReferenceToken.objects.get()
    assert sorted(token.scopes.values_list("name", flat=True)) == ["read", "update"]
    assert token.expires_at == midnight_utc_in(30)


def test_by_default_it_keeps_within_a_shorter_application_lifetime(run, admin_user, reports_app):
    reports_app.max_token_lifetime_days = 7
    reports_app.save()
    run("issue_token", "service", "--app", "com.example/reports", "--as-admin", "admin")
    assert ReferenceToken.objects.get().expires_at == midnight_utc_in(7)


def test_all_asks_for_every_scope_explicitly(run, alice, sync_app):
    run(
        "issue_token", "personal", "--user", "alice", "--app", "com.example/sync", "--scopes", "all"
    )
    token = ReferenceToken.objects.get()
    assert sorted(token.scopes.values_list("name", flat=True)) == ["read", "update"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["personal", "--user", "alice", "--app", "com.example/closed"], "policy 'none'"),
        (["personal", "--user", "alice", "--app", "com.example/reports"], "Only administrators"),
        (["personal", "--user", "nobody", "--app", "com.example/sync"], "No user is named"),
        (["personal", "--user", "alice", "--app", "com.example/nope"], "No trusted application"),
        (
            ["personal", "--user", "alice", "--app", "com.example/reports", "--scopes", "x"],
            r"Unknown scope\(s\): x",
        ),
        (
            ["personal", "--user", "admin", "--app", "com.example/reports", "--scopes", "update"],
            r"does not allow the scope\(s\): update",
        ),
        (
            [
                "personal",
                "--user",
                "alice",
                "--app",
                "com.example/sync",
                "--expires-in-days",
                "366",
            ],
            "at most 365 days",
        ),
        (
            [
                "personal",
                "--user",
                "alice",
                "--app",
                "com.example/sync",
                "--description",
                "x" * 129,
            ],
            "at most 128 characters",
        ),
        (["service", "--app", "com.example/sync", "--as-admin", "alice"], "Only instance admin"),
        (["service", "--app", "com.example/closed", "--as-admin", "admin"], "policy is 'none'"),
        (
            [
                "service",
                "--app",
                "com.example/sync",
                "--as-admin",
                "admin",
                "--expires-in-days",
                "0",
            ],
            "not a positive number",
        ),
        (
            [
                "service",
                "--app",
                "com.example/sync",
                "--as-admin",
                "admin",
                "--expires-in-days",
                "99999999999",
            ],
            "beyond any possible date",
        ),
        (["service", "--app", "com.example/sync"], "--as-admin"),
        (["personal", "--app", "com.example/sync"], "--user"),
        ([], "personal,service"),
    ],
)
def test_it_refuses_with_the_rule_and_issues_nothing(
    run, alice, admin_user, sync_app, reports_app, closed_app, args, message
):
    with pytest.raises(CommandError, match=message) as excinfo:
        run("issue_token", *args)
    assert excinfo.value.returncode == 1
    assert not ReferenceToken.objects.exists()
    assert not TokenEvent.objects.exists()


def test_a_personal_token_of_a_system_user_is_refused(run, sync_app):
    username = sync_app.system_user.username
    with pytest.raises(CommandError, match="System users cannot have personal tokens"):
        run("issue_token", "personal", "--user", username, "--app", "com.example/sync")


def test_its_help_shows_both_kinds(capsys):
    with pytest.raises(SystemExit):
        call_command("issue_token", "--help")
    assert "{personal,service}" in capsys.readouterr().out

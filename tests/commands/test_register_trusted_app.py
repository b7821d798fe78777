import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from trustedapps.models import TokenPolicy, TrustedApplication


def test_it_registers_an_application_with_everything_given(run, db):
    out = run(
        "register_trusted_app",
        "com.example/etl",
        "--name",
        "ETL",
        "--scopes",
        "read update",
        "--policy",
        "administrators_only",
        "--system-user",
        "--max-lifetime-days",
        "90",
        "--notes",
        "Nightly import.",
    )
    app = TrustedApplication.objects.get(application_uri="com.example/etl")
    assert app.name == "ETL"
    assert app.token_policy == TokenPolicy.ADMINISTRATORS_ONLY
    assert app.has_system_user and app.is_enabled
    assert app.max_token_lifetime_days == 90
    assert app.notes == "Nightly import."
    assert sorted(app.allowed_scopes.values_list("name", flat=True)) == ["read", "update"]
    assert User.objects.get(system_application=app).username == "app.com.example-etl"
    assert "Registered ETL (com.example/etl)" in out.stdout
    assert "app.com.example-etl" in out.stdout


def test_by_default_it_allows_no_tokens_and_has_no_system_user(run, db):
    run("register_trusted_app", "com.example/new", "--name", "New")
    app = TrustedApplication.objects.get(application_uri="com.example/new")
    assert app.token_policy == TokenPolicy.NONE
    assert not app.has_system_user
    assert app.max_token_lifetime_days is None
    assert not app.allowed_scopes.exists()
    assert not User.objects.system_users().exists()


def test_it_registers_a_disabled_application(run, db):
    run("register_trusted_app", "com.example/off", "--name", "Off", "--disabled")
    assert not TrustedApplication.objects.get(application_uri="com.example/off").is_enabled


def test_holders_may_rotate_its_tokens_unless_told_not_to(run, db):
    run("register_trusted_app", "com.example/a", "--name", "A")
    out = run("register_trusted_app", "com.example/b", "--name", "B", "--no-holder-rotation")

    rotation = dict(TrustedApplication.objects.values_list("application_uri", "holders_may_rotate"))
    assert rotation == {"com.example/a": True, "com.example/b": False}
    assert "holders may not rotate its tokens" in out.stdout


def test_scopes_may_be_separated_by_commas(run, db):
    run("register_trusted_app", "com.example/a", "--name", "A", "--scopes", "read,update")
    app = TrustedApplication.objects.get()
    assert app.allowed_scopes.count() == 2


def test_it_refuses_an_unknown_scope_and_registers_nothing(run, db):
    with pytest.raises(CommandError, match=r"Unknown scope\(s\): billing\. Known scopes: read"):
        run("register_trusted_app", "com.example/a", "--name", "A", "--scopes", "read billing")
    assert not TrustedApplication.objects.exists()


def test_it_refuses_an_existing_uri(run, sync_app):
    with pytest.raises(CommandError, match="exists already") as excinfo:
        run("register_trusted_app", "com.example/sync", "--name", "Another")
    assert excinfo.value.returncode == 1
    assert TrustedApplication.objects.get(application_uri="com.example/sync").name == "Sync"


def test_it_refuses_a_uri_with_spaces(run, db):
    with pytest.raises(CommandError, match="no spaces"):
        run("register_trusted_app", "com example", "--name", "A")
    assert not TrustedApplication.objects.exists()


def test_it_refuses_an_unknown_policy(run, db):
    with pytest.raises(CommandError, match="invalid choice: 'everyone'"):
        run("register_trusted_app", "com.example/a", "--name", "A", "--policy", "everyone")


@pytest.mark.parametrize("days", ["0", "-5", "ten"])
def test_it_refuses_a_lifetime_that_is_not_a_positive_number(run, db, days):
    with pytest.raises(CommandError, match="--max-lifetime-days"):
        run("register_trusted_app", "com.example/a", "--name", "A", "--max-lifetime-days", days)


def test_it_requires_a_name(run, db):
    with pytest.raises(CommandError, match="--name"):
        run("register_trusted_app", "com.example/a")
    with pytest.raises(CommandError, match="name"):
        run("register_trusted_app", "com.example/a", "--name", "  ")


def test_its_help_names_every_option(capsys):
    with pytest.raises(SystemExit) as excinfo:
        call_command("register_trusted_app", "--help")
    assert excinfo.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--name", "--scopes", "--policy", "--system-user", "--max-lifetime-days"):
        assert option in help_text
    assert "--disabled" in help_text

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from tests.helpers import Output, authenticates
from tokens.domain import lifecycle
from tokens.models import ReferenceToken
from tokens.validation.checks import check_for_holder, check_for_resource_server
from trustedapps.models import ResourceServer, TokenPolicy, TrustedApplication

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def credentials(tmp_path):
    return tmp_path / ".demo-credentials.json"


def secret_of(out) -> str:
    return out.stdout.split("client_secret=")[1].split()[0]


def test_it_loads_people_applications_a_resource_server_and_a_demo_token(run, db, credentials):
    out = run("seed_demo", "--credentials-file", str(credentials))
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="alice").is_staff
    policies = dict(TrustedApplication.objects.values_list("application_uri", "token_policy"))
    assert policies == {
        "com.example/sync": TokenPolicy.AUTHENTICATED_USERS,
        "com.example/reports": TokenPolicy.ADMINISTRATORS_ONLY,
    }
    secret = secret_of(out)
    assert authenticates("demo-api", secret)
    # The curl line validates alice's demo token with the server's credentials, as pasted.
    curl = next(line for line in out.stdout.splitlines() if "curl" in line).split()
    token = curl[curl.index("-d") + 1].removeprefix("token=")
    assert curl[curl.index("-u") + 1] == f"demo-api:{secret}"
    assert curl[-1] == "http://127.0.0.1:8000/connect/introspect"
    found = check_for_resource_server(token, client_id="demo-api", client_secret=secret)
    assert found is not None and found.username == "alice"


def test_the_last_lines_are_the_sign_ins_with_the_port_given(run, db, credentials):
    out = run("seed_demo", "--port", "8001", "--credentials-file", str(credentials))
    last = out.stdout.strip().splitlines()[-3:]
    assert last[0].startswith("Demo sign-ins (password for both: ")
    assert "http://127.0.0.1:8001/" in last[1]
    assert "http://127.0.0.1:8001/admin/" in last[2]


def test_a_second_run_keeps_the_secret_and_the_token_working(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    counts = (User.objects.count(), TrustedApplication.objects.count())
    second = run("seed_demo", "--credentials-file", str(credentials))
    assert (User.objects.count(), TrustedApplication.objects.count()) == counts
    assert ResourceServer.objects.count() == 1
    assert secret_of(first) == secret_of(second)
    assert authenticates("demo-api", secret_of(first))
    assert ReferenceToken.objects.count() == 1
    # Kept where git does not look, readable by its owner only.
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    [kept] = json.loads(credentials.read_text())["databases"].values()
    assert kept["client_secret"] == secret_of(first)
    assert "Its secret: kept from the last run on this database" in second.stdout
    assert "Alice's demo token: kept from the last run on this database" in second.stdout


def test_rotate_makes_new_ones_and_the_old_secret_stops(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    second = run("seed_demo", "--rotate", "--credentials-file", str(credentials))
    assert secret_of(first) != secret_of(second)
    assert not authenticates("demo-api", secret_of(first))
    assert authenticates("demo-api", secret_of(second))
    assert "Its secret: new, as --rotate asked" in second.stdout


def test_rotate_replaces_the_demo_token_so_alice_keeps_one(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    second = run("seed_demo", "--rotate", "--credentials-file", str(credentials))

    old, new = token_of(first), token_of(second)
    assert old != new
    assert check_for_holder(old) is None and check_for_holder(new) is not None
    assert ReferenceToken.objects.matching(new).get().rotated_from.hint == old[-4:]
    assert ReferenceToken.objects.live().count() == 1


def test_a_lost_credentials_file_gives_new_working_ones(run, db, credentials):
    run("seed_demo", "--credentials-file", str(credentials))
    credentials.unlink()
    out = run("seed_demo", "--credentials-file", str(credentials))
    assert authenticates("demo-api", secret_of(out))
    assert "Its secret: new: none was kept for this database yet" in out.stdout


def test_kept_ones_that_no_longer_work_here_are_remade_and_it_says_so(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    ResourceServer.objects.get().rotate_secret(seen_rotated_at=None)  # an admin rotated it
    lifecycle.revoke(ReferenceToken.objects.matching(token_of(first)), by=None)

    second = run("seed_demo", "--credentials-file", str(credentials))

    assert authenticates("demo-api", secret_of(second))
    assert check_for_holder(token_of(second)) is not None
    stale = "new: the one kept for this database no longer worked with it"
    assert f"Its secret: {stale}" in second.stdout
    assert f"Alice's demo token: {stale}" in second.stdout


def test_a_make_run_on_another_database_leaves_this_ones_credentials_working(
    run, db, credentials, tmp_path
):
    # make run here, then on another database (SQLite beside this one), then here again: each
    # database keeps its own, so nothing is replaced here and alice gets no second demo token.
    first = run("seed_demo", "--credentials-file", str(credentials))
    elsewhere = seed_another_database(tmp_path / "other.sqlite3", credentials)
    again = run("seed_demo", "--credentials-file", str(credentials))

    assert secret_of(again) == secret_of(first) != secret_of(elsewhere)
    assert token_of(again) == token_of(first)
    assert authenticates("demo-api", secret_of(first))
    assert ReferenceToken.objects.count() == 1
    assert "Its secret: kept from the last run on this database" in again.stdout
    kept = json.loads(credentials.read_text())["databases"]
    assert kept[f"sqlite:{tmp_path / 'other.sqlite3'}"]["client_secret"] == secret_of(elsewhere)
    assert len(kept) == 2


def test_the_file_of_an_earlier_version_is_kept_if_it_works_here(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    [kept] = json.loads(credentials.read_text())["databases"].values()
    credentials.write_text(json.dumps(kept))  # one database's, without saying which

    again = run("seed_demo", "--credentials-file", str(credentials))

    assert secret_of(again) == secret_of(first) and token_of(again) == token_of(first)
    assert list(json.loads(credentials.read_text())) == ["databases"]


def token_of(out) -> str:
    return out.stdout.split("token=")[1].split()[0]


def seed_another_database(path, credentials) -> Output:
    """`make run` on another database: migrate, then seed_demo with the same credentials file."""
    script = (
        "import sys, django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); "
        "call_command('seed_demo', '--credentials-file', sys.argv[1])"
    )
    environment = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}
    result = subprocess.run(  # noqa: S603 (our own code)
        [sys.executable, "-c", script, str(credentials)],
        cwd=PROJECT,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{path}",
            "DEBUG": "true",
            "EMAIL_URL": "consolemail://",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return Output(result.stdout, result.stderr)

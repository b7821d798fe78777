import json
import stat

import pytest

from accounts.models import User
from tests.conftest import authenticates
from tokens.introspection import check_for_resource_server
from tokens.models import ReferenceToken
from trustedapps.models import ResourceServer, TokenPolicy, TrustedApplication


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
    assert json.loads(credentials.read_text())["client_secret"] == secret_of(first)


def test_rotate_makes_new_ones_and_the_old_secret_stops(run, db, credentials):
    first = run("seed_demo", "--credentials-file", str(credentials))
    second = run("seed_demo", "--rotate", "--credentials-file", str(credentials))
    assert secret_of(first) != secret_of(second)
    assert not authenticates("demo-api", secret_of(first))
    assert authenticates("demo-api", secret_of(second))


def test_a_lost_credentials_file_gives_new_working_ones(run, db, credentials):
    run("seed_demo", "--credentials-file", str(credentials))
    credentials.unlink()
    out = run("seed_demo", "--credentials-file", str(credentials))
    assert authenticates("demo-api", secret_of(out))

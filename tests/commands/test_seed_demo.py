from accounts.models import User
from tests.conftest import authenticates
from trustedapps.models import ResourceServer, TokenPolicy, TrustedApplication


def test_it_loads_people_applications_and_a_resource_server(run, db):
    out = run("seed_demo")
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="alice").is_staff
    policies = dict(TrustedApplication.objects.values_list("application_uri", "token_policy"))
    assert policies == {
        "com.example/sync": TokenPolicy.AUTHENTICATED_USERS,
        "com.example/reports": TokenPolicy.ADMINISTRATORS_ONLY,
    }
    secret = out.stdout.split("client_secret=")[1].split()[0]
    assert authenticates("demo-api", secret)


def test_running_it_twice_changes_nothing_but_the_server_secret(run, db):
    first = run("seed_demo")
    counts = (User.objects.count(), TrustedApplication.objects.count())
    second = run("seed_demo")
    assert (User.objects.count(), TrustedApplication.objects.count()) == counts
    assert ResourceServer.objects.count() == 1
    old = first.stdout.split("client_secret=")[1].split()[0]
    new = second.stdout.split("client_secret=")[1].split()[0]
    assert not authenticates("demo-api", old)
    assert authenticates("demo-api", new)

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.helpers import authenticates
from tokens.validation.checks import check_for_resource_server
from trustedapps.models import ResourceServer


def test_it_prints_the_secret_alone_on_stdout(run, db):
    out = run(
        "register_resource_server", "orders-api", "--scopes", "read update", "--name", "Orders"
    )
    secret = out.stdout.removesuffix("\n")
    assert out.stdout == secret + "\n"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert secret not in out.stderr
    assert "Registered resource server orders-api" in out.stderr
    server = ResourceServer.objects.get(client_id="orders-api")
    assert server.name == "Orders"
    assert sorted(server.scopes.values_list("name", flat=True)) == ["read", "update"]
    assert authenticates("orders-api", secret)
    assert secret not in repr(ResourceServer.objects.values().get())


def test_the_printed_secret_lets_the_server_introspect(run, alice_token):
    secret = run("register_resource_server", "new-api", "--scopes", "read").stdout.strip()
    active = check_for_resource_server(
        alice_token.plaintext, client_id="new-api", client_secret=secret
    )
    assert active.scopes == ("read",)


def test_it_refuses_an_existing_client_id_and_keeps_its_secret(run, orders_api):
    with pytest.raises(CommandError, match="exists already") as excinfo:
        run("register_resource_server", "orders-api", "--scopes", "read")
    assert excinfo.value.returncode == 1
    assert authenticates("orders-api", orders_api.secret)


def test_it_refuses_an_unknown_scope(run, db):
    with pytest.raises(CommandError, match=r"Unknown scope\(s\): billing"):
        run("register_resource_server", "orders-api", "--scopes", "billing")
    assert not ResourceServer.objects.exists()


def test_it_refuses_a_server_without_scopes(run, db):
    with pytest.raises(CommandError, match="at least one scope"):
        run("register_resource_server", "orders-api", "--scopes", " ")
    with pytest.raises(CommandError, match="--scopes"):
        run("register_resource_server", "orders-api")
    assert not ResourceServer.objects.exists()


@pytest.mark.parametrize("client_id", ["orders api", "ordérs", "orders\tapi"])
def test_it_refuses_a_client_id_with_spaces_or_beyond_ascii(run, db, client_id):
    with pytest.raises(CommandError, match="client_id: Visible ASCII characters only"):
        run("register_resource_server", client_id, "--scopes", "read")
    assert not ResourceServer.objects.exists()


def test_a_url_or_urn_may_be_a_client_id(run, alice_token):
    client_id = "urn:example:orders/api%2B+v1"
    secret = run("register_resource_server", client_id, "--scopes", "read").stdout.strip()
    assert authenticates(client_id, secret)


def test_it_registers_resource_uris_for_the_audience(run, alice_token):
    out = run(
        "register_resource_server",
        "orders-api",
        "--scopes",
        "read",
        "--resource-uri",
        "https://orders.example.com/api",
        "--resource-uri",
        "http://localhost:8000/",
    )
    uris = ["https://orders.example.com/api", "http://localhost:8000/"]
    assert ResourceServer.objects.get().resource_uris == uris
    assert "resource URI https://orders.example.com/api" in out.stderr
    active = check_for_resource_server(
        alice_token.plaintext, client_id="orders-api", client_secret=out.stdout.strip()
    )
    assert active.audience == ("orders-api", *uris)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("orders.example.com/api", "absolute https:// URL"),
        ("ftp://orders.example.com/", "absolute https:// URL"),
        ("http://orders.example.com/api", "plain http only for a loopback host"),
        ("https://user:pw@orders.example.com/", "no user name or password"),
        ("https://orders.example.com/api#top", "no fragment"),
        ("https://orders.example.com/api?v=1", "no query"),
        ("https://orders.example.com:port/", "port is not a number"),
    ],
)
def test_it_refuses_a_resource_uri_that_is_no_absolute_https_url(run, db, uri, reason):
    with pytest.raises(CommandError, match=re.escape(reason)):
        run("register_resource_server", "orders-api", "--scopes", "read", "--resource-uri", uri)
    assert not ResourceServer.objects.exists()


def test_it_refuses_a_resource_uri_given_twice(run, db):
    uri = "https://orders.example.com/api"
    with pytest.raises(CommandError, match="listed twice"):
        run(
            "register_resource_server",
            "o",
            "--scopes",
            "read",
            "--resource-uri",
            uri,
            "--resource-uri",
            uri,
        )


def test_its_help_says_the_secret_is_shown_only_now(capsys):
    with pytest.raises(SystemExit):
        call_command("register_resource_server", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--scopes" in help_text
    assert "the only time it is shown" in help_text

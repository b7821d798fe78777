import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tokens.introspection import introspect
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
    assert ResourceServer.objects.authenticate("orders-api", secret) == server
    assert secret not in repr(ResourceServer.objects.values().get())


def test_the_printed_secret_lets_the_server_introspect(run, alice_token):
    secret = run("register_resource_server", "new-api", "--scopes", "read").stdout.strip()
    active = introspect(alice_token.plaintext, client_id="new-api", client_secret=secret)
    assert active.scopes == ("read",)


def test_it_refuses_an_existing_client_id_and_keeps_its_secret(run, orders_api):
    with pytest.raises(CommandError, match="exists already") as excinfo:
        run("register_resource_server", "orders-api", "--scopes", "read")
    assert excinfo.value.returncode == 1
    assert ResourceServer.objects.authenticate("orders-api", orders_api.secret)


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


def test_it_refuses_a_client_id_with_odd_characters(run, db):
    with pytest.raises(CommandError, match="client_id: Letters, digits and"):
        run("register_resource_server", "orders api/ü", "--scopes", "read")
    assert not ResourceServer.objects.exists()


def test_its_help_says_the_secret_is_shown_only_now(capsys):
    with pytest.raises(SystemExit):
        call_command("register_resource_server", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--scopes" in help_text
    assert "the only time it is shown" in help_text

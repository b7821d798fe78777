"""Resource servers: a generated secret shown once on creation, and rotation that bites at once."""

import re

import pytest
from django.contrib.admin.models import LogEntry

from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD, authenticates, resent, same_browser, signed_in, stored_anywhere
from tokens.validation.checks import InvalidClient, check_for_resource_server
from trustedapps.models import ResourceServer

LIST = "/admin/trustedapps/resourceserver/"
SECRET_RE = re.compile(r'id="shown-once-value"[^>]*>([^<]+)</textarea>', re.S)


def shown_secret(response) -> str:
    return SECRET_RE.search(response.content.decode()).group(1)


def test_adding_a_server_shows_its_generated_secret_once(as_admin, read_scope, alice_token):
    response = as_admin.post(
        LIST + "add/",
        {
            "client_id": "billing-api",
            "name": "Billing",
            "scopes": [read_scope.pk],
            "is_enabled": "on",
        },
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    assert "will not be shown again" in response.content.decode()

    active = check_for_resource_server(
        alice_token.plaintext, client_id="billing-api", client_secret=secret
    )
    assert active.scopes == ("read",)
    assert stored_anywhere(secret) == []
    assert all(secret not in e.change_message + e.object_repr for e in LogEntry.objects.all())
    assert LogEntry.objects.count() == 1
    page = as_admin.get(LIST + f"{ResourceServer.objects.get().pk}/change/").content.decode()
    assert secret not in page


def test_rotation_asks_first(as_admin, orders_api):
    response = as_admin.get(f"{LIST}{orders_api.server.pk}/rotate-secret/")
    assert response.status_code == 200
    assert "at once" in response.content.decode()
    assert authenticates("orders-api", orders_api.secret)


def test_rotating_gives_a_new_secret_and_the_old_one_stops_working_at_once(
    as_admin, orders_api, alice_token
):
    response = as_admin.post(f"{LIST}{orders_api.server.pk}/rotate-secret/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    new = shown_secret(response)
    assert new != orders_api.secret

    with pytest.raises(InvalidClient):
        check_for_resource_server(
            alice_token.plaintext, client_id="orders-api", client_secret=orders_api.secret
        )
    assert check_for_resource_server(
        alice_token.plaintext, client_id="orders-api", client_secret=new
    )
    assert ResourceServer.objects.get().secret_rotated_at is not None
    assert stored_anywhere(new) == []
    entry = LogEntry.objects.get()
    assert entry.get_change_message() == "Rotated the secret."


def test_the_change_page_has_a_rotate_button(as_admin, orders_api):
    page = as_admin.get(f"{LIST}{orders_api.server.pk}/change/").content.decode()
    assert f"{orders_api.server.pk}/rotate-secret/" in page


def test_staff_who_may_only_view_cannot_rotate(orders_api):
    from accounts.models import User
    from tests.helpers import grant

    viewer = grant(
        User.objects.create_user("vic", "vic@example.com", "x", is_staff=True),
        "view_resourceserver",
    )
    client = signed_in(viewer)
    assert (
        "rotate-secret" not in client.get(f"{LIST}{orders_api.server.pk}/change/").content.decode()
    )
    assert client.post(f"{LIST}{orders_api.server.pk}/rotate-secret/").status_code == 403
    assert authenticates("orders-api", orders_api.secret)


def test_rotating_an_unknown_server_is_404(as_admin):
    assert as_admin.post(f"{LIST}999999/rotate-secret/").status_code == 404


def test_the_client_id_cannot_change_after_creation(as_admin, orders_api, read_scope):
    as_admin.post(
        f"{LIST}{orders_api.server.pk}/change/",
        {"client_id": "renamed", "name": "Orders", "scopes": [read_scope.pk], "is_enabled": "on"},
    )
    server = ResourceServer.objects.get()
    assert server.client_id == "orders-api"
    assert server.name == "Orders"


def rotate_page_key(client, server) -> str:
    """The rotation as the confirmation page shows it (when the secret was last rotated)."""
    return (
        client.get(f"{LIST}{server.pk}/rotate-secret/").context["form"].initial["seen_rotated_at"]
    )


def test_a_rotation_confirmed_on_an_out_of_date_page_changes_nothing(as_admin, orders_api):
    # Two admins open the page; the first rotates; the second's confirmation must not void the
    # secret the first was just shown.
    seen = rotate_page_key(as_admin, orders_api.server)
    first = as_admin.post(f"{LIST}{orders_api.server.pk}/rotate-secret/", {"seen_rotated_at": seen})
    winner = shown_secret(first)
    second = as_admin.post(
        f"{LIST}{orders_api.server.pk}/rotate-secret/", {"seen_rotated_at": seen}
    )
    assert second.status_code == 302
    assert second["Location"] == f"{LIST}{orders_api.server.pk}/change/"
    page = as_admin.get(second["Location"]).content.decode()
    assert "was just rotated" in page
    assert "shown-once-value" not in page
    assert authenticates(orders_api.client_id, winner)
    assert LogEntry.objects.count() == 1


@pytest.mark.parametrize("seen", ["\x00", "yesterday", "9" * 40])
def test_a_malformed_confirmation_is_refused_without_a_500(as_admin, orders_api, seen):
    response = as_admin.post(
        f"{LIST}{orders_api.server.pk}/rotate-secret/", {"seen_rotated_at": seen}
    )
    assert response.status_code == 302
    assert authenticates(orders_api.client_id, orders_api.secret)


def test_concurrent_rotations_have_one_winner_whose_secret_works(as_admin, orders_api, race):
    seen = rotate_page_key(as_admin, orders_api.server)
    url = f"{LIST}{orders_api.server.pk}/rotate-secret/"
    responses = race(lambda i: same_browser(as_admin).post(url, {"seen_rotated_at": seen}))
    winners = [r for r in responses if r.status_code == 200]
    assert len(winners) == 1
    assert sorted(r.status_code for r in responses) == [200] + [302] * (len(responses) - 1)
    assert authenticates(orders_api.client_id, shown_secret(winners[0]))
    assert LogEntry.objects.count() == 1


def _change(client, server, read_scope, resource_uris: str):
    return client.post(
        f"{LIST}{server.pk}/change/",
        {
            "name": "Orders",
            "scopes": [read_scope.pk],
            "resource_uris": resource_uris,
            "is_enabled": "on",
        },
    )


def test_resource_uris_are_typed_one_per_line_and_answered_in_aud(
    as_admin, orders_api, read_scope, alice_token
):
    response = _change(
        as_admin,
        orders_api.server,
        read_scope,
        "https://orders.example.com/api\r\n\r\n  http://127.0.0.1:8000/  \r\n",
    )

    assert response.status_code == 302
    uris = ["https://orders.example.com/api", "http://127.0.0.1:8000/"]
    assert ResourceServer.objects.get().resource_uris == uris
    active = check_for_resource_server(
        alice_token.plaintext, client_id="orders-api", client_secret=orders_api.secret
    )
    assert active.audience == ("orders-api", *uris)
    page = as_admin.get(f"{LIST}{orders_api.server.pk}/change/").content.decode()
    assert "https://orders.example.com/api\nhttp://127.0.0.1:8000/</textarea>" in page


def test_a_resource_uri_that_is_no_https_url_is_refused_beside_the_field(
    as_admin, orders_api, read_scope
):
    response = _change(
        as_admin, orders_api.server, read_scope, "https://ok.example.com/\nhttp://api.example.com/"
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["resource_uris"]
    assert "plain http only for a loopback host" in errors["resource_uris"][0]
    assert ResourceServer.objects.get().resource_uris == []


def test_the_list_shows_each_servers_resource_uris(as_admin, orders_api, search_api):
    orders_api.server.resource_uris = ["https://orders.example.com/api"]
    orders_api.server.save()

    response = as_admin.get(LIST)

    rows = {
        row.client_id: row
        for row in response.context["cl"].result_list  # the rows the page renders
    }
    admin = response.context["cl"].model_admin
    assert admin.resource_uri_list(rows["orders-api"]) == "https://orders.example.com/api"
    assert admin.resource_uri_list(rows["search-api"]) == "—"
    assert "https://orders.example.com/api" in response.content.decode()


def test_a_stale_admin_confirms_the_password_before_a_new_server_shows_its_secret(
    as_admin, read_scope, update_scope
):
    form = {
        "client_id": "billing-api",
        "name": "Billing",
        "scopes": [read_scope.pk, update_scope.pk],
        "resource_uris": "https://billing.example.com/api\nhttps://billing.example.com/v2",
        "is_enabled": "on",
        "_save": "Save",
    }
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()

    asked = as_admin.post(LIST + "add/", form)
    assert asked.status_code == 200
    assert "register the resource server billing-api" in asked.content.decode()
    assert not SECRET_RE.search(asked.content.decode())
    assert not ResourceServer.objects.exists()
    # The whole add form is carried: both scopes, both lines of the URIs, the button pressed.
    carried = resent(asked.context["carried"])
    assert carried == {
        "client_id": ["billing-api"],
        "name": ["Billing"],
        "scopes": [str(read_scope.pk), str(update_scope.pk)],
        "resource_uris": ["https://billing.example.com/api\nhttps://billing.example.com/v2"],
        "is_enabled": ["on"],
        "_save": ["Save"],
    }

    wrong = as_admin.post(LIST + "add/", {**carried, "sudo_password": "not it"})
    assert wrong.status_code == 403
    assert not ResourceServer.objects.exists()

    response = as_admin.post(LIST + "add/", {**carried, "sudo_password": PASSWORD})
    secret = shown_secret(response)
    server = ResourceServer.objects.get()
    assert server.resource_uris == [
        "https://billing.example.com/api",
        "https://billing.example.com/v2",
    ]
    assert {s.name for s in server.scopes.all()} == {"read", "update"}
    assert authenticates("billing-api", secret)


def test_a_mistake_in_a_new_server_is_shown_before_the_password_is_asked(as_admin, orders_api):
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()
    response = as_admin.post(LIST + "add/", {"client_id": "orders-api", "name": "Again"})
    assert b"Confirm your password" not in response.content
    assert response.context["adminform"].form.errors["client_id"]
    assert ResourceServer.objects.count() == 1

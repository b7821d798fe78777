"""SCIM clients in the admin: made after sudo mode, their secret shown once and kept only as a
hash, rotated at once, and listed with their last use."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import LogEntry

from accounts.sudo import SESSION_KEY
from scim.models import ScimClient
from tests.helpers import PASSWORD, resent, stored_anywhere

LIST = "/admin/scim/scimclient/"
SECRET_RE = re.compile(r'id="shown-once-value"[^>]*>([^<]+)</textarea>', re.S)


@pytest.fixture
def entra(db) -> SimpleNamespace:
    """Entra ID's provisioning connector, with its secret."""
    client = ScimClient(name="Entra ID")
    secret = client.set_secret()
    client.save()
    return SimpleNamespace(client=client, secret=secret)


def shown_secret(response) -> str:
    return SECRET_RE.search(response.content.decode()).group(1)


def scim_status(client, secret: str) -> int:
    return client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code


def test_adding_a_client_shows_its_secret_once_and_keeps_only_a_hash(as_admin, client):
    response = as_admin.post(LIST + "add/", {"name": "Entra ID", "is_enabled": "on"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response)
    page = response.content.decode()
    assert "will not be shown again" in page
    assert "http://testserver/scim/v2" in page
    assert scim_status(client, secret) == 200
    assert stored_anywhere(secret) == []
    assert all(secret not in e.change_message + e.object_repr for e in LogEntry.objects.all())
    change = as_admin.get(f"{LIST}{ScimClient.objects.get().pk}/change/").content.decode()
    assert secret not in change


def test_adding_a_client_asks_for_the_password_past_sudo_mode(as_admin):
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()

    asked = as_admin.post(LIST + "add/", {"name": "Okta", "is_enabled": "on", "_save": "Save"})
    assert asked.status_code == 200
    assert "add the SCIM client Okta" in asked.content.decode()
    assert not SECRET_RE.search(asked.content.decode())
    assert not ScimClient.objects.exists()

    carried = resent(asked.context["carried"])
    assert as_admin.post(LIST + "add/", {**carried, "sudo_password": "no"}).status_code == 403
    assert not ScimClient.objects.exists()
    response = as_admin.post(LIST + "add/", {**carried, "sudo_password": PASSWORD})
    assert shown_secret(response)
    assert ScimClient.objects.get().name == "Okta"


def test_rotating_replaces_the_secret_at_once(as_admin, client, entra):
    assert "rotate-secret/" in as_admin.get(f"{LIST}{entra.client.pk}/change/").content.decode()
    assert "at once" in as_admin.get(f"{LIST}{entra.client.pk}/rotate-secret/").content.decode()

    response = as_admin.post(f"{LIST}{entra.client.pk}/rotate-secret/")
    new = shown_secret(response)

    assert scim_status(client, entra.secret) == 401
    assert scim_status(client, new) == 200
    assert stored_anywhere(new) == []
    assert LogEntry.objects.get().get_change_message() == "Rotated the secret."


def test_rotating_needs_sudo_mode(as_admin, entra):
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()
    asked = as_admin.post(f"{LIST}{entra.client.pk}/rotate-secret/")
    assert "rotate the secret of the SCIM client Entra ID" in asked.content.decode()
    assert ScimClient.objects.get().secret_hash == entra.client.secret_hash


def test_a_second_rotation_from_the_same_page_rotates_nothing(as_admin, entra):
    page = as_admin.get(f"{LIST}{entra.client.pk}/rotate-secret/")
    seen = page.context["form"]["seen_rotated_at"].value()
    as_admin.post(f"{LIST}{entra.client.pk}/rotate-secret/", {"seen_rotated_at": seen})
    hash_after_first = ScimClient.objects.get().secret_hash

    again = as_admin.post(f"{LIST}{entra.client.pk}/rotate-secret/", {"seen_rotated_at": seen})
    assert again.status_code == 302
    assert ScimClient.objects.get().secret_hash == hash_after_first


def test_the_list_shows_the_last_use(as_admin, client, entra):
    never = as_admin.get(LIST).content.decode().split("Entra ID", 1)[1].split("</tr>", 1)[0]
    assert "last used" in as_admin.get(LIST).content.decode().lower()
    scim_status(client, entra.secret)
    used = as_admin.get(LIST).content.decode().split("Entra ID", 1)[1].split("</tr>", 1)[0]
    assert used != never  # the last-used column now holds a date


def test_staff_without_the_permission_see_no_clients(client, erin):
    client.force_login(erin)
    assert client.get(LIST).status_code == 403

"""Deprovisioning: the identity provider turns a person off, and every personal token of theirs
answers `{"active": false}` at once, here and (on PostgreSQL) in every other worker's cache.

Deactivating and deleting both make the person inactive, the rule the validation URL already
applies (tokens/domain/status.py, "user inactive"); each writes an audit event naming the
provisioning client; operations learn which service tokens the person created (they keep
working, for their application, but nobody owns them any more).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core import mail

from accounts.models import User
from scim.models import ProvisioningEvent
from tests.helpers import FORM, active, basic, cached_and_active, eventually
from tests.scim.shapes import ENTRA_CREATE
from tokens.domain import lifecycle

USERS = "/scim/v2/Users"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Entra ID: a path, a capitalised op, and (for applications set up before its 2020 fix) the
# boolean as a string.
ENTRA_DEACTIVATE = {
    "schemas": [PATCH],
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
}
# Okta: no path, an object of attributes.
OKTA_DEACTIVATE = {
    "schemas": [PATCH],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}


def introspect(client, token: str, server) -> dict:
    response = client.post(
        "/connect/introspect",
        urlencode({"token": token}),
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(server.client_id, server.secret),
    )
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(
    "provider, patch", [("entra", ENTRA_DEACTIVATE), ("okta", OKTA_DEACTIVATE)]
)
def test_a_deactivating_patch_makes_every_personal_token_inactive_at_once(
    request, client, provider, patch, alice, alice_token, orders_api
):
    idp = request.getfixturevalue(provider)
    found = idp.call("GET", USERS, filter='userName eq "alice"').json()["Resources"]
    assert introspect(client, alice_token.plaintext, orders_api)["active"] is True

    response = idp.call("PATCH", f"{USERS}/{found[0]['id']}", patch)

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert introspect(client, alice_token.plaintext, orders_api) == {"active": False}
    alice.refresh_from_db()
    assert not alice.is_active
    event = ProvisioningEvent.objects.get(user=alice)
    assert (event.action, event.client_name, event.client) == (
        "deactivated",
        idp.client.name,
        idp.client,
    )


def test_reactivating_makes_the_tokens_work_again(client, entra, alice, alice_token, orders_api):
    entra.call("PATCH", f"{USERS}/{alice.pk}", ENTRA_DEACTIVATE)
    again = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": True}]}

    entra.call("PATCH", f"{USERS}/{alice.pk}", again)

    assert introspect(client, alice_token.plaintext, orders_api)["active"] is True
    assert list(ProvisioningEvent.objects.values_list("action", flat=True)) == [
        "reactivated",
        "deactivated",
    ]


def test_delete_is_a_soft_delete_that_deactivates_and_hides_the_person(
    client, entra, alice, alice_token, orders_api
):
    response = entra.call("DELETE", f"{USERS}/{alice.pk}")

    assert response.status_code == 204
    assert introspect(client, alice_token.plaintext, orders_api) == {"active": False}
    alice.refresh_from_db()
    assert not alice.is_active  # kept, with their tokens and audit trail, for the admins
    assert entra.call("GET", f"{USERS}/{alice.pk}").status_code == 404
    assert entra.call("GET", USERS, filter='userName eq "alice"').json()["totalResults"] == 0
    assert entra.call("DELETE", f"{USERS}/{alice.pk}").status_code == 404
    event = ProvisioningEvent.objects.get(user=alice)
    assert (event.action, event.client_name) == ("deleted", "Entra ID")


def test_entra_s_whole_cycle(client, entra, orders_api, sync_app, in_30_days):
    """Create, find by filter, the person makes a token, deactivate, delete."""
    created = entra.call("POST", USERS, ENTRA_CREATE).json()
    found = entra.call("GET", USERS, filter=f'userName eq "{ENTRA_CREATE["userName"]}"').json()
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    dana = User.objects.get(pk=created["id"])
    token = lifecycle.issue_personal(user=dana, application=sync_app, expires_at=in_30_days)
    assert introspect(client, token.plaintext, orders_api)["active"] is True

    entra.call("PATCH", f"{USERS}/{dana.pk}", ENTRA_DEACTIVATE)
    assert introspect(client, token.plaintext, orders_api) == {"active": False}
    assert entra.call("DELETE", f"{USERS}/{dana.pk}").status_code == 204

    actions = ProvisioningEvent.objects.filter(user=dana).values_list("action", flat=True)
    assert list(actions) == ["deleted", "deactivated", "created"]


# --- Service tokens the person created -------------------------------------------------------


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """The notice is sent once the change is committed: run what commit would run."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def carols_service_token(carol, sync_app, in_30_days):
    """Carol (an instance admin, not a superuser) made a service token for Sync."""
    return lifecycle.issue_service(
        admin=carol, application=sync_app, expires_at=in_30_days, description="nightly export"
    )


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_operations_learn_which_service_tokens_need_an_owner(
    settings, client, entra, carol, carols_service_token, orders_api, method, after_commit
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    mail.outbox.clear()

    with after_commit(execute=True):
        entra.call(method, f"{USERS}/{carol.pk}", ENTRA_DEACTIVATE if method == "PATCH" else None)

    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert message.subject == "1 service token of carol needs a new owner"
    assert f"…{carols_service_token.token.hint}" in message.body
    assert "nightly export" in message.body
    assert "Entra ID" in message.body
    assert carols_service_token.plaintext not in message.body + message.alternatives[0][0]
    # The service token acts for its application, not for carol: it keeps working.
    assert introspect(client, carols_service_token.plaintext, orders_api)["active"] is True
    assert "1 service token(s)" in ProvisioningEvent.objects.get(user=carol).detail


def test_no_notice_without_service_tokens_or_without_operations_email(
    settings, entra, alice, alice_token, carol, carols_service_token, after_commit
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    mail.outbox.clear()
    with after_commit(execute=True):
        entra.call("PATCH", f"{USERS}/{alice.pk}", ENTRA_DEACTIVATE)
    assert mail.outbox == []

    settings.OPERATIONS_EMAIL = ""
    with after_commit(execute=True):
        entra.call("PATCH", f"{USERS}/{carol.pk}", ENTRA_DEACTIVATE)
    assert mail.outbox == []


def test_the_notice_renders_for_several_tokens(
    settings, entra, carol, sync_app, in_30_days, after_commit
):
    settings.OPERATIONS_EMAIL = "ops@example.com"
    for _ in range(2):
        lifecycle.issue_service(admin=carol, application=sync_app, expires_at=in_30_days)
    mail.outbox.clear()
    with after_commit(execute=True):
        entra.call("DELETE", f"{USERS}/{carol.pk}")
    [message] = mail.outbox
    assert message.subject == "2 service tokens of carol need a new owner"
    assert "These service tokens created by carol still work:" in message.body
    assert "was deleted by the identity provider" in message.body


# --- Every worker (PostgreSQL) -----------------------------------------------------------------


def test_another_worker_s_cache_sees_the_deactivation_within_its_bound(
    worker, entra, alice, alice_token, orders_api
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    assert entra.call("PATCH", f"{USERS}/{alice.pk}", OKTA_DEACTIVATE).status_code == 200

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))


def test_another_worker_s_cache_sees_the_deletion_within_its_bound(
    worker, okta, alice, alice_token, orders_api
):
    cached_and_active(worker, alice_token.plaintext, orders_api)

    assert okta.call("DELETE", f"{USERS}/{alice.pk}").status_code == 204

    assert eventually(lambda: not active(worker, alice_token.plaintext, orders_api))

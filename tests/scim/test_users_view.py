"""/scim/v2/Users: the request shapes Microsoft Entra ID and Okta document, and every refusal as
a SCIM error (RFC 7644 section 3.12), never a 500.

Entra ID: https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
Okta: https://developer.okta.com/docs/reference/scim/scim-20/
"""

from __future__ import annotations

import json

import pytest

from accounts.models import User
from scim.models import ProvisionedUser, ScimClient
from scim.protocol import MAX_BODY_BYTES
from tests.helpers import PASSWORD
from tests.scim.shapes import ENTRA_CREATE, OKTA_CREATE

USERS = "/scim/v2/Users"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def error_of(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


# --- Create ------------------------------------------------------------------------------


def test_entra_creates_a_person_without_a_usable_password(entra):
    response = entra.call("POST", USERS, ENTRA_CREATE)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/scim+json"
    created = response.json()
    user = User.objects.get(username="dana@contoso.example")
    assert created["id"] == str(user.pk)
    assert response["Location"] == f"http://testserver/scim/v2/Users/{user.pk}"
    assert created["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    assert created["active"] is True
    assert created["name"]["givenName"] == "Dana"
    assert (user.first_name, user.last_name, user.email) == ("Dana", "Lee", "dana@contoso.example")
    assert not user.has_usable_password()
    assert user.provisioning.client == entra.client


def test_okta_creates_a_person_and_its_password_is_never_kept(okta):
    response = okta.call("POST", USERS, OKTA_CREATE)

    assert response.status_code == 201
    user = User.objects.get(username="eve.adams@example.com")
    assert not user.has_usable_password()
    assert not user.check_password("1mz050nq")
    assert "1mz050nq" not in response.content.decode()


def test_a_taken_username_is_a_conflict(entra, alice):
    body = {**ENTRA_CREATE, "userName": "ALICE"}
    error_of(entra.call("POST", USERS, body), 409, "uniqueness")
    assert User.objects.count() == 1


def test_a_user_created_inactive_is_inactive(entra):
    entra.call("POST", USERS, {**ENTRA_CREATE, "active": "False"})
    assert User.objects.get(username="dana@contoso.example").is_active is False


@pytest.mark.parametrize(
    "change",
    [
        {"userName": ""},
        {"userName": None},
        {"userName": 42},
        {"userName": "has space"},
        {"userName": "x" * 151},
        {"userName": "nul\x00byte"},
        {"name": {"givenName": "\ud800"}},
        {"externalId": "nul\x00byte"},
        {"emails": [{"value": "not-an-address", "primary": True}]},
        {"emails": "dana@contoso.example"},
        {"name": "Dana"},
        {"active": "maybe"},
    ],
)
def test_a_bad_value_is_a_400_and_writes_nothing(entra, change):
    error_of(entra.call("POST", USERS, {**ENTRA_CREATE, **change}), 400, "invalidValue")
    assert not User.objects.exists()


def test_an_unknown_attribute_is_refused_by_name(entra):
    body = error_of(
        entra.call("POST", USERS, {**ENTRA_CREATE, "shoeSize": 44}), 400, "invalidSyntax"
    )
    assert "shoesize" in body["detail"]
    assert not User.objects.exists()


def test_an_unknown_part_of_the_name_is_refused(entra):
    body = {**ENTRA_CREATE, "name": {"givenName": "Dana", "nickname": "D"}}
    error_of(entra.call("POST", USERS, body), 400, "invalidSyntax")


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', b"\xff\xfe", " "])
def test_a_malformed_body_is_a_400(entra, raw):
    error_of(entra.call("POST", USERS, raw), 400, "invalidSyntax")
    assert not User.objects.exists()


def test_another_media_type_is_a_415(entra):
    response = entra.call(
        "POST", USERS, "userName=x", content_type="application/x-www-form-urlencoded"
    )
    error_of(response, 415)


def test_a_body_too_large_is_a_413(entra):
    body = {**ENTRA_CREATE, "displayName": "x" * MAX_BODY_BYTES}
    error_of(entra.call("POST", USERS, body), 413)
    assert not User.objects.exists()


# --- Authentication --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-secret", "Basic ZW50cmE6c2VjcmV0", "Bearer \x00"],
)
def test_a_missing_or_wrong_bearer_secret_is_a_401_before_anything_else(
    client, entra, alice, authorization
):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    for method, path in [("GET", USERS), ("POST", USERS), ("DELETE", f"{USERS}/{alice.pk}")]:
        response = client.generic(method, path, "{", content_type="text/plain", **headers)
        error_of(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert User.objects.get(pk=alice.pk).is_active


def test_a_refusal_is_logged_without_the_secret(client, db, caplog):
    client.get(USERS, HTTP_AUTHORIZATION="Bearer enrt-looking-secret-1234")
    [denied] = [r for r in caplog.records if r.getMessage().startswith("scim.denied")]
    assert "unknown secret" in denied.getMessage()
    assert all("looking-secret" not in r.getMessage() for r in caplog.records)


def test_a_disabled_client_is_refused(entra):
    ScimClient.objects.update(is_enabled=False)
    error_of(entra.call("GET", USERS), 401)


def test_each_call_notes_the_client_s_last_use(entra):
    entra.call("GET", USERS)
    assert ScimClient.objects.get().last_used_at is not None


def test_an_unsupported_method_is_a_405(entra):
    response = entra.call("DELETE", USERS)
    error_of(response, 405)
    assert response["Allow"] == "GET, POST"


# --- Read: filter, paging, by id ---------------------------------------------------------------


def test_get_by_filter_finds_the_person_case_insensitively(entra, alice, bob):
    response = entra.call("GET", USERS, filter='userName eq "Alice"')
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 1
    assert [r["userName"] for r in body["Resources"]] == ["alice"]


def test_get_by_filter_of_nobody_is_an_empty_list(okta, alice):
    # Okta asks this before creating: an empty list, not a 404.
    response = okta.call(
        "GET", USERS, filter='userName eq "eve.adams@example.com"', startIndex="1", count="100"
    )
    assert response.json()["totalResults"] == 0
    assert response.json()["Resources"] == []


def test_get_by_external_id(entra):
    entra.call("POST", USERS, ENTRA_CREATE)
    body = entra.call("GET", USERS, filter=f'externalId eq "{ENTRA_CREATE["externalId"]}"').json()
    assert [r["userName"] for r in body["Resources"]] == ["dana@contoso.example"]


@pytest.mark.parametrize(
    "expression",
    [
        'userName sw "a"',
        'userName eq "\\ud800"',
        'userName eq "\\u0000"',
        "userName eq alice",
        'title eq "x"',
        '"',
        'userName eq "a" or id eq "1"',
    ],
)
def test_an_unsupported_filter_is_a_400(entra, expression):
    error_of(entra.call("GET", USERS, filter=expression), 400, "invalidFilter")


def test_paging_is_one_based(entra, db):
    for n in range(5):
        User.objects.create_user(f"person{n}")
    page = entra.call("GET", USERS, startIndex="2", count="2").json()
    assert page["totalResults"] == 5
    assert (page["startIndex"], page["itemsPerPage"]) == (2, 2)
    assert [r["userName"] for r in page["Resources"]] == ["person1", "person2"]


@pytest.mark.parametrize("params", [{"startIndex": "x"}, {"count": "1.5"}])
def test_paging_that_is_not_a_number_is_a_400(entra, params):
    error_of(entra.call("GET", USERS, **params), 400, "invalidValue")


def test_superusers_and_system_users_are_out_of_sight(entra, alice, admin_user, sync_app):
    listed = entra.call("GET", USERS).json()
    assert [r["userName"] for r in listed["Resources"]] == ["alice"]
    for hidden in (admin_user, sync_app.system_user):
        error_of(entra.call("GET", f"{USERS}/{hidden.pk}"), 404)
        patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
        error_of(entra.call("PATCH", f"{USERS}/{hidden.pk}", patch), 404)
        error_of(entra.call("DELETE", f"{USERS}/{hidden.pk}"), 404)
        hidden.refresh_from_db()
        assert hidden.is_active
    assert entra.call("GET", USERS, filter='userName eq "admin"').json()["totalResults"] == 0


@pytest.mark.parametrize("user_id", ["999999", "abc", "1" * 40, "%00"])
def test_an_unknown_id_is_a_404(entra, user_id):
    error_of(entra.call("GET", f"{USERS}/{user_id}"), 404)


def test_get_by_id(entra, alice):
    body = entra.call("GET", f"{USERS}/{alice.pk}").json()
    assert body["userName"] == "alice"
    assert body["emails"] == [{"value": "alice@example.com", "type": "work", "primary": True}]
    assert body["meta"]["resourceType"] == "User"


# --- Update: PUT and PATCH ---------------------------------------------------------------------


def test_okta_puts_the_whole_person(okta):
    user_id = okta.call("POST", USERS, OKTA_CREATE).json()["id"]
    body = {**OKTA_CREATE, "id": user_id, "name": {"givenName": "Evelyn", "familyName": "Adams"}}
    del body["emails"]
    response = okta.call("PUT", f"{USERS}/{user_id}", body)
    assert response.status_code == 200
    user = User.objects.get(pk=user_id)
    assert (user.first_name, user.email) == ("Evelyn", "")  # PUT replaces: no emails, none kept


WORK_EMAIL = 'emails[type eq "work"].value'


def patch_of(*operations: dict) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


def test_entra_patches_attributes_by_path(entra):
    user_id = entra.call("POST", USERS, ENTRA_CREATE).json()["id"]
    patch = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Replace", "path": "name.givenName", "value": "Danielle"},
            {
                "op": "Add",
                "path": 'emails[type eq "work"].value',
                "value": "danielle@contoso.example",
            },
            {"op": "Replace", "path": "displayName", "value": "Danielle Lee"},
            {
                "op": "Add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "value": "Sales",
            },
            {"op": "Replace", "path": "userName", "value": "danielle@contoso.example"},
        ],
    }
    response = entra.call("PATCH", f"{USERS}/{user_id}", patch)
    assert response.status_code == 200, response.content
    user = User.objects.get(pk=user_id)
    assert (user.username, user.first_name, user.email) == (
        "danielle@contoso.example",
        "Danielle",
        "danielle@contoso.example",
    )


def test_a_patch_to_an_unknown_path_is_refused_and_changes_nothing(entra, alice):
    patch = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "name.givenName", "value": "Mallory"},
            {"op": "replace", "path": "shoeSize", "value": 44},
        ],
    }
    error_of(entra.call("PATCH", f"{USERS}/{alice.pk}", patch), 400, "invalidPath")
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


@pytest.mark.parametrize(
    "patch",
    [
        {"Operations": []},
        {"Operations": "replace"},
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "Operations": [{"op": "replace", "value": {}}],
        },
        {"schemas": [PATCH], "Operations": [{"op": "move", "path": "active", "value": False}]},
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active"}]},
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": [1]}]},
        {"schemas": [PATCH], "Operations": [{"op": "remove"}]},
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "active"}]},
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": 7, "value": 1}]},
        {"schemas": [PATCH], "Operations": [1]},
    ],
)
def test_a_malformed_patch_is_a_400(entra, alice, patch):
    response = entra.call("PATCH", f"{USERS}/{alice.pk}", patch)
    assert response.status_code == 400, response.content
    assert response.json()["schemas"] == [ERROR]
    alice.refresh_from_db()
    assert alice.is_active


def test_renaming_to_a_taken_username_is_a_conflict(entra, alice, bob):
    patch = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "userName", "value": "bob"}],
    }
    error_of(entra.call("PATCH", f"{USERS}/{alice.pk}", patch), 409, "uniqueness")


def test_a_person_made_before_scim_can_be_managed(entra, alice):
    # Entra ID matches existing people by userName, then patches them.
    patch = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "externalId", "value": "ext-1"}],
    }
    assert entra.call("PATCH", f"{USERS}/{alice.pk}", patch).status_code == 200
    assert ProvisionedUser.objects.get(user=alice).external_id == "ext-1"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # their own password stays until SSO-only says otherwise


def test_every_answer_is_no_store(entra, alice):
    assert "no-store" in entra.call("GET", f"{USERS}/{alice.pk}")["Cache-Control"]


def test_bodies_are_never_logged(entra, caplog):
    caplog.set_level("DEBUG")
    entra.call("POST", USERS, OKTA_CREATE)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "1mz050nq" not in logged
    assert json.dumps(OKTA_CREATE) not in logged

"""/ServiceProviderConfig, /Schemas and /ResourceTypes (RFC 7644 section 4): what Entra ID and
Okta read to learn what the portal supports. Behind the same bearer secret as /Users."""

from __future__ import annotations

import pytest

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def test_the_service_provider_config_says_patch_and_filter_yes_bulk_no(entra):
    response = entra.call("GET", "/scim/v2/ServiceProviderConfig")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    config = response.json()
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["bulk"]["supported"] is False
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_the_schemas_list_the_user_schema_and_give_it_by_id(entra):
    listed = entra.call("GET", "/scim/v2/Schemas").json()
    assert [schema["id"] for schema in listed["Resources"]] == [USER_SCHEMA]
    one = entra.call("GET", f"/scim/v2/Schemas/{USER_SCHEMA}").json()
    names = [attribute["name"] for attribute in one["attributes"]]
    assert {"userName", "name", "emails", "active", "externalId"} <= set(names)


def test_the_resource_types_list_users(entra):
    listed = entra.call("GET", "/scim/v2/ResourceTypes").json()
    assert listed["totalResults"] == 1
    user = entra.call("GET", "/scim/v2/ResourceTypes/User").json()
    assert (user["endpoint"], user["schema"]) == ("/Users", USER_SCHEMA)


def test_an_unknown_schema_is_a_scim_404(entra):
    response = entra.call("GET", "/scim/v2/Schemas/urn:nothing")
    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


@pytest.mark.parametrize(
    "path", ["/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas", "/scim/v2/ResourceTypes"]
)
def test_discovery_needs_the_bearer_secret_too(client, db, path):
    assert client.get(path).status_code == 401


def test_discovery_is_read_only(entra):
    assert entra.call("POST", "/scim/v2/Schemas", {}).status_code == 405

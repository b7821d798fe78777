"""What the service provider tells about itself (RFC 7644 section 4, RFC 7643 sections 5-7)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from scim.protocol import LIST_SCHEMA, NotFound
from scim.resources import USER_SCHEMA

CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"


def _meta(request: HttpRequest, resource_type: str, path: str) -> dict[str, str]:
    return {"resourceType": resource_type, "location": request.build_absolute_uri(path)}


def service_provider_config(request: HttpRequest, max_results: int) -> dict[str, Any]:
    return {
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer secret",
                "description": "The secret of a SCIM client made in the portal's admin, sent as "
                "Authorization: Bearer <secret>.",
                "primary": True,
            }
        ],
        "meta": _meta(request, "ServiceProviderConfig", reverse("scim_config")),
    }


def _attribute(name: str, type_: str = "string", **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "multiValued": options.get("multi", False),
        "required": options.get("required", False),
        "caseExact": options.get("case_exact", False),
        "mutability": options.get("mutability", "readWrite"),
        "returned": "default",
        "uniqueness": options.get("uniqueness", "none"),
        **({"subAttributes": options["sub"]} if "sub" in options else {}),
    }


def schemas(request: HttpRequest) -> list[dict[str, Any]]:
    """The User schema, as far as the portal keeps it."""
    user = {
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person who holds personal access tokens.",
        "attributes": [
            _attribute("userName", required=True, uniqueness="server"),
            _attribute(
                "name",
                "complex",
                sub=[_attribute("givenName"), _attribute("familyName"), _attribute("formatted")],
            ),
            _attribute("displayName", mutability="readOnly"),
            _attribute(
                "emails",
                "complex",
                multi=True,
                sub=[_attribute("value"), _attribute("type"), _attribute("primary", "boolean")],
            ),
            _attribute("active", "boolean"),
            _attribute("externalId", case_exact=True),
        ],
        "meta": _meta(request, "Schema", reverse("scim_schema", args=[USER_SCHEMA])),
    }
    return [user]


def resource_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "People",
            "schema": USER_SCHEMA,
            "schemaExtensions": [],
            "meta": _meta(request, "ResourceType", reverse("scim_resource_types") + "/User"),
        }
    ]


def one_or_list(resources: list[dict[str, Any]], resource_id: str | None) -> dict[str, Any]:
    if resource_id is None:
        return {
            "schemas": [LIST_SCHEMA],
            "totalResults": len(resources),
            "startIndex": 1,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    for resource in resources:
        if resource["id"] == resource_id:
            return resource
    raise NotFound(f"No such resource: {resource_id}.")

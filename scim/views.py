"""SCIM 2.0 endpoints for identity providers' provisioning (Entra ID, Okta).

`scim.protocol.scim_endpoint` has authenticated the client and parsed the body; each view reads
its parameters, calls one operation of `scim.provisioning`, and answers the resource.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from accounts.models import User
from common.http import remote_address
from scim import discovery, provisioning
from scim.models import ScimClient
from scim.protocol import LIST_SCHEMA, NotFound, bad, scim_endpoint, scim_response
from scim.resources import filter_condition, from_patch, from_resource, to_resource, visible_people

MAX_RESULTS = 200


def _integer(request: HttpRequest, name: str, default: int) -> int:
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise bad(f"“{name}” must be an integer.") from None
    return max(-1, min(number, 10**9))


def _person(user_id: str) -> User:
    numeric = user_id.isascii() and user_id.isdigit() and len(user_id) < 19
    person = visible_people().filter(pk=int(user_id)).first() if numeric else None
    if person is None:
        raise NotFound(f"No user {user_id}.")
    return person


def _created(request: HttpRequest, user: User) -> HttpResponse:
    resource = to_resource(user, request)
    response = scim_response(resource, status=201)
    response["Location"] = resource["meta"]["location"]
    return response


@scim_endpoint("GET", "POST")
def users_view(
    request: HttpRequest, *, client: ScimClient, body: dict[str, Any] | None = None
) -> HttpResponse:
    if request.method == "POST":
        assert body is not None
        changes = from_resource(body, replacing=False)
        user = provisioning.create(client, changes, remote_address(request))
        return _created(request, user)
    people = visible_people().order_by("pk")
    expression = request.GET.get("filter")
    if expression:
        people = people.filter(filter_condition(expression))
    # RFC 7644 section 3.4.2.4: startIndex is 1-based (below 1 means 1); count below 0 means 0.
    start = max(_integer(request, "startIndex", 1), 1)
    count = min(max(_integer(request, "count", MAX_RESULTS), 0), MAX_RESULTS)
    total = people.count()
    page = list(people[start - 1 : start - 1 + count]) if count else []
    return scim_response(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(page),
            "Resources": [to_resource(user, request) for user in page],
        }
    )


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def user_view(
    request: HttpRequest, user_id: str, *, client: ScimClient, body: dict[str, Any] | None = None
) -> HttpResponse:
    person = _person(user_id)
    ip = remote_address(request)
    if request.method == "DELETE":
        provisioning.delete(client, person, ip)
        return HttpResponse(status=204)
    if request.method in ("PUT", "PATCH"):
        assert body is not None
        if request.method == "PUT":
            changes = from_resource(body, replacing=True)
        else:
            changes = from_patch(body)
        person = provisioning.update(client, person, changes, ip)
    return scim_response(to_resource(person, request))


@scim_endpoint("GET")
def service_provider_config_view(request: HttpRequest, *, client: ScimClient) -> HttpResponse:
    return scim_response(discovery.service_provider_config(request, MAX_RESULTS))


@scim_endpoint("GET")
def schemas_view(
    request: HttpRequest, schema_id: str | None = None, *, client: ScimClient
) -> HttpResponse:
    return scim_response(discovery.one_or_list(discovery.schemas(request), schema_id))


@scim_endpoint("GET")
def resource_types_view(
    request: HttpRequest, type_id: str | None = None, *, client: ScimClient
) -> HttpResponse:
    return scim_response(discovery.one_or_list(discovery.resource_types(request), type_id))

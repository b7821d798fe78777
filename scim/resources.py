"""The User resource (RFC 7643 section 4.1) as the portal holds it, in both directions.

What is stored: `userName` (the username), `name.givenName` and `name.familyName`, one e-mail
address (`emails`: the primary one, else the first), `active` and `externalId`. The other
attributes of the core User schema and of the enterprise extension, which Entra ID and Okta send
by default (displayName, title, phoneNumbers, department, manager, password...), are accepted and
ignored; an attribute of no schema is refused (400), so a mapping mistake shows at once. Attribute
names are case-insensitive (RFC 7643 section 2.1).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from scim.protocol import PATCH_SCHEMA, bad

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Core User attributes that the portal does not keep: accepted, ignored.
IGNORED = {
    "displayname",
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "password",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
}
# What the portal keeps.
STORED = {"username", "name", "emails", "externalid", "active"}
# Read-only or protocol attributes a client may echo back.
ECHOED = {"schemas", "id", "meta"}
NAME_PARTS = {
    "formatted",
    "familyname",
    "givenname",
    "middlename",
    "honorificprefix",
    "honorificsuffix",
}
_TRUE, _FALSE = {"true"}, {"false"}
_PATH = re.compile(
    r"^(?P<attr>[A-Za-z][\w$-]*)(?:\[(?P<filter>[^\]]*)\])?(?:\.(?P<sub>[A-Za-z][\w$-]*))?$"
)
_FILTER = re.compile(
    r"^\s*(?P<attr>[A-Za-z][\w$-]*(?:\.[A-Za-z][\w$-]*)?)\s+(?P<op>[A-Za-z]{2})\s+"
    r'"(?P<value>(?:[^"\\]|\\.)*)"\s*$'
)
# The user model's limits: longer values are refused, never cut.
LIMITS = {"username": 150, "first_name": 150, "last_name": 150, "email": 254, "external_id": 255}


def visible_people() -> QuerySet[User]:
    """Whom SCIM sees and manages: people only. Superusers (the break-glass accounts) and the
    system users of trusted applications are out of its reach, as are people it deleted."""
    return (
        User.objects.people()
        .filter(is_superuser=False)
        .exclude(provisioning__deleted_at__isnull=False)
        .select_related("provisioning")
    )


# --- Reading values ----------------------------------------------------------------------------


def text(value: object, field: str, attribute: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad(f"“{attribute}” must be a string.")
    if not _storable(value):
        raise bad(f"“{attribute}” holds a NUL character or a lone surrogate.")
    value = value.strip()
    if len(value) > LIMITS[field]:
        raise bad(f"“{attribute}” is longer than {LIMITS[field]} characters.")
    return value


def _storable(value: str) -> bool:
    """Whether the database can hold it: JSON's escapes can make a NUL, which PostgreSQL refuses,
    and a lone surrogate, which no UTF-8 encoder writes."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def boolean(value: object, attribute: str) -> bool:
    # Entra ID sent booleans as the strings "True" and "False" before its 2020 fix, and still
    # does for applications set up before it.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise bad(f"“{attribute}” must be true or false.")


def username(value: object) -> str:
    name = text(value, "username", "userName")
    if not name:
        raise bad("“userName” is required.")
    try:
        User.username_validator(name)
    except ValidationError:
        raise bad(
            "“userName” may hold letters, digits and @ . + - _ only (e.g. an e-mail address)."
        ) from None
    return name


def email(value: object) -> str:
    address = text(value, "email", "emails.value")
    if address:
        try:
            validate_email(address)
        except ValidationError:
            raise bad(f"“{address}” is not an e-mail address.") from None
    return address


def email_of(emails: object) -> str:
    """The primary address of an `emails` list, else its first, else none."""
    if emails is None:
        return ""
    if not isinstance(emails, list) or not all(isinstance(item, dict) for item in emails):
        raise bad("“emails” must be a list of objects.")
    if not emails:
        return ""
    chosen = next((item for item in emails if item.get("primary") is True), emails[0])
    return email(_lower_keys(chosen).get("value"))


def _lower_keys(value: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): item for key, item in value.items()}


def name_parts(value: object, *, replacing: bool) -> dict[str, str]:
    if not isinstance(value, dict):
        raise bad("“name” must be an object.")
    parts = _lower_keys(value)
    unknown = set(parts) - NAME_PARTS
    if unknown:
        raise bad(f"Unknown attribute “name.{sorted(unknown)[0]}”.", "invalidSyntax")
    changes = {}
    for part, field in (("givenname", "first_name"), ("familyname", "last_name")):
        if part in parts or replacing:
            changes[field] = text(parts.get(part), field, f"name.{part}")
    return changes


# --- A whole resource: POST and PUT ---------------------------------------------------------


def from_resource(body: dict[str, Any], *, replacing: bool) -> dict[str, Any]:
    """The fields a posted (or put) User sets. `replacing` (PUT): what it leaves out is cleared,
    except `active`, which stays as it is unless given (a PUT never reactivates by omission)."""
    attributes = _lower_keys(body)
    for key in attributes:
        if key not in IGNORED | ECHOED | STORED and key != ENTERPRISE_SCHEMA.lower():
            raise bad(f"Unknown attribute “{key}”.", "invalidSyntax")
    changes: dict[str, Any] = {"username": username(attributes.get("username"))}
    if "name" in attributes or replacing:
        changes.update(name_parts(attributes.get("name") or {}, replacing=True))
    if "emails" in attributes or replacing:
        changes["email"] = email_of(attributes.get("emails"))
    if "externalid" in attributes or replacing:
        changes["external_id"] = text(attributes.get("externalid"), "external_id", "externalId")
    if "active" in attributes:
        changes["is_active"] = boolean(attributes["active"], "active")
    return changes


# --- PATCH (RFC 7644 section 3.5.2) ----------------------------------------------------------


def from_patch(body: dict[str, Any]) -> dict[str, Any]:
    """The fields a PatchOp sets, in both shapes the providers send:

    Entra ID: `{"op": "Replace", "path": "active", "value": "False"}` (a path per attribute,
    capitalised operations, booleans as strings); Okta: `{"op": "replace", "value":
    {"active": false}}` (no path, an object of attributes).
    """
    attributes = _lower_keys(body)
    schemas = attributes.get("schemas", [PATCH_SCHEMA])
    if not isinstance(schemas, list) or PATCH_SCHEMA not in schemas:
        raise bad(f"A PATCH body names the schema {PATCH_SCHEMA}.", "invalidSyntax")
    operations = attributes.get("operations")
    if not isinstance(operations, list) or not operations:
        raise bad("A PATCH body has a non-empty list of “Operations”.", "invalidSyntax")
    changes: dict[str, Any] = {}
    for operation in operations:
        if not isinstance(operation, dict):
            raise bad("Each operation is an object.", "invalidSyntax")
        parts = _lower_keys(operation)
        op = parts.get("op")
        if not isinstance(op, str) or op.lower() not in {"add", "replace", "remove"}:
            raise bad("“op” is one of add, replace and remove.", "invalidSyntax")
        path = parts.get("path")
        if path is not None and not isinstance(path, str):
            raise bad("“path” must be a string.", "invalidPath")
        if op.lower() == "remove":
            if not path:
                raise bad("A remove operation needs a path.", "noTarget")
            changes.update(_at_path(path, None, removing=True))
        elif path:
            changes.update(_at_path(path, parts.get("value"), removing=False))
        else:
            value = parts.get("value")
            if not isinstance(value, dict):
                raise bad("Without a path, “value” must be an object of attributes.")
            for key, item in value.items():
                changes.update(_at_path(str(key), item, removing=False))
    return changes


def _at_path(path: str, value: object, *, removing: bool) -> dict[str, Any]:
    """The fields that setting (or removing) `path` to `value` changes."""
    lowered = path.strip().lower()
    if lowered.startswith(ENTERPRISE_SCHEMA.lower()):
        return {}  # department, manager, employeeNumber...: not kept
    if lowered.startswith(USER_SCHEMA.lower() + ":"):
        path = path.strip()[len(USER_SCHEMA) + 1 :]
    match = _PATH.match(path.strip())
    if match is None:
        raise bad(f"“{path}” is not an attribute path.", "invalidPath")
    attr, sub, has_filter = (
        match["attr"].lower(),
        (match["sub"] or "").lower(),
        match["filter"] is not None,
    )
    if attr in IGNORED:
        return {}
    if attr == "active" and not (sub or has_filter):
        if removing:
            raise bad("“active” cannot be removed: replace it with false.", "mutability")
        return {"is_active": boolean(value, "active")}
    if attr == "username" and not (sub or has_filter):
        if removing:
            raise bad("“userName” is required: it cannot be removed.", "mutability")
        return {"username": username(value)}
    if attr == "externalid" and not (sub or has_filter):
        return {"external_id": text(value, "external_id", "externalId")}
    if attr == "name" and not has_filter:
        if not sub:
            return name_parts({} if removing else value, replacing=True)
        if sub not in NAME_PARTS:
            raise bad(f"“{path}” is not an attribute path.", "invalidPath")
        return name_parts({sub: value}, replacing=False)
    if attr == "emails":
        if removing:
            return {"email": ""}
        if sub == "value" or (has_filter and not sub):
            # emails[type eq "work"].value (Entra ID): the person's one address.
            item = value.get("value") if isinstance(value, dict) else value
            return {"email": email(item)}
        if not sub and not has_filter:
            return {"email": email_of(value if isinstance(value, list) else [value])}
    raise bad(f"“{path}” is not an attribute path of a User.", "invalidPath")


# --- Filters (RFC 7644 section 3.4.2.2): the equality lookups the providers make -------------


def filter_condition(expression: str) -> Q:
    """`userName eq "x"` (Entra ID and Okta), `externalId eq "x"`, `emails.value eq "x"`,
    `id eq "x"`, as an ORM condition; anything else is refused (400 invalidFilter)."""
    match = _FILTER.match(expression)
    if match is None or match["op"].lower() != "eq":
        raise bad(
            'Only filters of the form attribute eq "value" are supported '
            "(userName, externalId, emails.value, id).",
            "invalidFilter",
        )
    try:
        value = json.loads(f'"{match["value"]}"')
    except ValueError:
        raise bad("The filter's value is not a valid string.", "invalidFilter") from None
    if not _storable(value):
        raise bad("The filter's value holds a NUL character or a lone surrogate.", "invalidFilter")
    attribute = match["attr"].lower()
    if attribute == "username":
        return Q(username__iexact=value)  # userName is not case-exact (RFC 7643 4.1.1)
    if attribute == "externalid":
        return Q(provisioning__external_id=value)
    if attribute in {"emails", "emails.value"}:
        return Q(email__iexact=value)
    if attribute == "id":
        return Q(pk=int(value)) if value.isdigit() and len(value) < 19 else Q(pk__in=[])
    raise bad(f"Filtering on “{match['attr']}” is not supported.", "invalidFilter")


# --- Writing a resource ------------------------------------------------------------------------


def to_resource(user: User, request: HttpRequest) -> dict[str, Any]:
    provisioning = getattr(user, "provisioning", None)
    location = request.build_absolute_uri(reverse("scim_user", args=[user.pk]))
    modified = provisioning.updated_at if provisioning else user.date_joined
    resource: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "id": str(user.pk),
        "userName": user.username,
        "name": {
            "givenName": user.first_name,
            "familyName": user.last_name,
            "formatted": user.get_full_name(),
        },
        "displayName": user.get_full_name() or user.username,
        "active": user.is_active,
        "emails": [{"value": user.email, "type": "work", "primary": True}] if user.email else [],
        "meta": {
            "resourceType": "User",
            "created": user.date_joined.isoformat(),
            "lastModified": modified.isoformat(),
            "location": location,
        },
    }
    if provisioning and provisioning.external_id:
        resource["externalId"] = provisioning.external_id
    return resource

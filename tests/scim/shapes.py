"""The request bodies Microsoft Entra ID and Okta document for their SCIM provisioning, as the
tests replay them.

Entra ID: https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
Okta: https://developer.okta.com/docs/reference/scim/scim-20/
"""

# As Entra ID's validator sends it (its documented "Create User" request).
ENTRA_CREATE = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "dana@contoso.example",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "dana@contoso.example"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Dana Lee", "familyName": "Lee", "givenName": "Dana"},
    "roles": [],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Finance"},
}

# As Okta documents its "Create the User" request (it may send a password: never kept).
OKTA_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "eve.adams@example.com",
    "name": {"givenName": "Eve", "familyName": "Adams"},
    "emails": [{"primary": True, "value": "eve.adams@example.com", "type": "work"}],
    "displayName": "Eve Adams",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}

"""A person's admin page shows what identity providers did to them (SCIM), and the provisioning
events have a read-only list of their own."""

from __future__ import annotations

import json

from bs4 import BeautifulSoup

from scim.models import ScimClient

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def provisioned_by_entra(client, alice) -> None:
    """Entra ID adds an external id, then deactivates alice."""
    entra = ScimClient(name="Entra ID")
    secret = entra.set_secret()
    entra.save()
    body = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "externalId", "value": "aad-7"},
            {"op": "Replace", "path": "active", "value": "False"},
        ],
    }
    response = client.patch(
        f"/scim/v2/Users/{alice.pk}",
        json.dumps(body),
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 200


def test_a_person_s_page_shows_their_provisioning_events(as_admin, client, alice):
    provisioned_by_entra(client, alice)

    page = BeautifulSoup(
        as_admin.get(f"/admin/accounts/user/{alice.pk}/change/").content, "html.parser"
    )

    section = page.select_one("table.provisioning-events")
    rows = [[cell.get_text() for cell in row.find_all("td")] for row in section.select("tbody tr")]
    assert [row[1:3] for row in rows] == [["Deactivated", "Entra ID"], ["Updated", "Entra ID"]]
    assert "Managed by Entra ID, external id aad-7" in page.get_text()


def test_a_person_never_provisioned_says_so(as_admin, alice):
    page = as_admin.get(f"/admin/accounts/user/{alice.pk}/change/").content.decode()
    assert "Not managed by any SCIM client." in page


def test_saving_a_person_s_page_still_works(as_admin, client, alice):
    provisioned_by_entra(client, alice)
    page = as_admin.get(f"/admin/accounts/user/{alice.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in ("username", "email", "first_name")}
    data.update(
        {"last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "_save": "Save"}
    )
    response = as_admin.post(
        f"/admin/accounts/user/{alice.pk}/change/", {**data, "is_active": "on"}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_active  # an admin may let them back in; the next SCIM sync decides again


def test_the_event_list_is_read_only(as_admin, client, alice):
    provisioned_by_entra(client, alice)
    listing = as_admin.get("/admin/scim/provisioningevent/")
    assert listing.status_code == 200
    assert "Entra ID" in listing.content.decode()
    assert as_admin.get("/admin/scim/provisioningevent/add/").status_code == 403

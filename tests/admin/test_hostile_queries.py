"""Admin lists and forms with values PostgreSQL refuses (a NUL byte): never a query, never a 500.

A filter or search the admin cannot use is answered as Django's admin answers any: a redirect
to the bare list with `?e=1`. Forms refuse such values beside their field.
"""

import pytest

from trustedapps.models import ResourceServer

LISTS = [
    "/admin/tokens/referencetoken/",
    "/admin/tokens/tokenevent/",
    "/admin/trustedapps/trustedapplication/",
    "/admin/trustedapps/resourceserver/",
    "/admin/trustedapps/scope/",
    "/admin/accounts/user/",
    "/admin/auth/group/",
]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/admin/tokens/referencetoken/", "kind=%00"),
        ("/admin/tokens/referencetoken/", "status=%00"),
        ("/admin/tokens/referencetoken/", "application__id__exact=%00"),
        ("/admin/tokens/tokenevent/", "action=%00"),
        ("/admin/tokens/tokenevent/", "actor=%00"),
        ("/admin/trustedapps/trustedapplication/", "token_policy=%00"),
        ("/admin/accounts/user/", "kind=%00"),
        ("/admin/accounts/user/", "is_staff__exact=%00"),
        *((path, "q=%00") for path in LISTS),
        *((path, "q=a%00b") for path in LISTS),
        ("/admin/tokens/referencetoken/", "%00=1"),
        ("/admin/tokens/referencetoken/", "o=%00"),
    ],
)
def test_a_nul_in_a_filter_or_search_gets_the_admins_usual_redirect(
    as_admin, alice_token, sync_service_token, path, query
):
    response = as_admin.get(f"{path}?{query}")
    assert response.status_code == 302
    assert response["Location"] == f"{path}?e=1"
    assert as_admin.get(response["Location"]).status_code == 200


def test_an_ordinary_search_is_untouched(as_admin, alice_token):
    response = as_admin.get("/admin/tokens/referencetoken/?q=laptop")
    assert response.status_code == 200
    assert alice_token.token.masked in response.content.decode()


def test_a_nul_in_an_admin_form_is_a_field_error(as_admin, read_scope):
    response = as_admin.post(
        "/admin/trustedapps/resourceserver/add/",
        {"client_id": "orders\x00api", "name": "Orders", "scopes": [read_scope.pk]},
    )
    assert response.status_code == 200
    assert "Null characters are not allowed." in str(response.context["adminform"].form.errors)
    assert not ResourceServer.objects.exists()


def test_a_nul_among_the_selected_rows_of_an_action_is_no_500(as_admin, alice_token):
    response = as_admin.post(
        "/admin/tokens/referencetoken/",
        {"action": "revoke_selected", "_selected_action": ["\x00"]},
    )
    assert response.status_code in {200, 302}
    alice_token.token.refresh_from_db()
    assert alice_token.token.revoked_at is None

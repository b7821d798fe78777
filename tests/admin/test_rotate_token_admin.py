"""Admin: rotate any token (its page, the application's table); sudo mode before new credentials."""

import re

import pytest
from django.contrib.admin.models import LogEntry

from accounts.sudo import SESSION_KEY
from tests.admin.conftest import grant, signed_in, stored_anywhere
from tests.conftest import PASSWORD
from tokens.expiry import expiry_in_days
from tokens.introspection import check_for_holder
from tokens.models import ROTATED, ReferenceToken, TokenEvent

TOKEN_RE = re.compile(r"enrt_[0-9A-F]{64}")


def rotate_url(token) -> str:
    return f"/admin/tokens/referencetoken/{token.pk}/rotate/"


def make_stale(client) -> None:
    session = client.session
    session[SESSION_KEY] -= 3600
    session.save()


def rotate(client, token, **extra):
    form_key = client.get(rotate_url(token)).context["form_key"]
    return client.post(rotate_url(token), {"form_key": form_key, **extra})


def test_the_confirmation_page_changes_nothing(as_admin, alice_token):
    response = as_admin.get(rotate_url(alice_token.token))
    assert response.status_code == 200
    assert b"Rotate the token" in response.content
    assert ReferenceToken.objects.get().revoked_at is None


def test_an_admin_rotates_a_personal_token_and_sees_the_new_one_once(
    as_admin, alice_token, admin_user
):
    response = rotate(as_admin, alice_token.token)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [plaintext] = set(TOKEN_RE.findall(response.content.decode()))
    assert check_for_holder(plaintext).username == "alice"
    assert check_for_holder(alice_token.plaintext) is None
    old = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert (old.revoked_by, old.revocation_reason) == (admin_user, ROTATED)
    assert stored_anywhere(plaintext) == []
    entry = LogEntry.objects.get()
    assert "Rotated: replaced by enrt_…" in entry.get_change_message()
    assert plaintext not in entry.change_message


def test_a_service_token_rotates_into_one_acting_as_the_system_user(as_admin, sync_service_token):
    response = rotate(as_admin, sync_service_token.token)
    [plaintext] = set(TOKEN_RE.findall(response.content.decode()))
    assert check_for_holder(plaintext).username == sync_service_token.token.user.username


def test_a_rotation_by_another_admin_keeps_the_creator_and_midnight_utc(
    admin_user, carol, sync_service_token
):
    # The admin issued it and stays responsible for it (its notices go to them); carol
    # rotates it, which the audit trail records.
    client = signed_in(grant(carol, "view_referencetoken"))

    response = rotate(client, sync_service_token.token)

    [plaintext] = set(TOKEN_RE.findall(response.content.decode()))
    new = ReferenceToken.objects.matching(plaintext).get()
    assert new.created_by == admin_user
    assert TokenEvent.objects.get(action="rotated", new_token=new).actor == carol
    assert new.expires_at == expiry_in_days(30)  # 00:00:00 UTC, as many days as the old one


def test_the_token_page_and_the_applications_table_offer_rotate(as_admin, alice_token, sync_app):
    token_page = as_admin.get(f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/")
    assert rotate_url(alice_token.token).encode() in token_page.content
    app_page = as_admin.get(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    assert rotate_url(alice_token.token).encode() + b"?next=" in app_page.content


def test_from_the_applications_table_it_goes_back_there(as_admin, alice_token, sync_app):
    back = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/"
    opened = as_admin.get(rotate_url(alice_token.token) + f"?next={back}")
    response = as_admin.post(
        rotate_url(alice_token.token), {"form_key": opened.context["form_key"], "next": back}
    )
    assert f'href="{back}"'.encode() in response.content


def test_the_token_page_links_old_and_new(as_admin, alice_token, alice):
    new = alice_token.token.rotate(by=alice).token
    old_page = as_admin.get(f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/")
    new_page = as_admin.get(f"/admin/tokens/referencetoken/{new.pk}/change/")
    assert f"/admin/tokens/referencetoken/{new.pk}/change/".encode() in old_page.content
    assert f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/".encode() in (
        new_page.content
    )
    assert b"Rotate token" not in old_page.content  # revoked: nothing to rotate


def test_a_revoked_token_is_refused_with_a_message(as_admin, alice_token, alice):
    opened = as_admin.get(rotate_url(alice_token.token))
    alice_token.token.revoke(by=alice)
    response = as_admin.post(
        rotate_url(alice_token.token), {"form_key": opened.context["form_key"]}, follow=True
    )
    assert b"cannot be rotated. It is revoked." in response.content
    assert ReferenceToken.objects.count() == 1


def test_staff_who_may_only_revoke_cannot_rotate(alice_token, erin):
    from tests.admin.conftest import grant

    erin = grant(erin, "change_referencetoken", "view_referencetoken")
    client = signed_in(erin)
    assert client.get(rotate_url(alice_token.token)).status_code == 403
    assert client.post(rotate_url(alice_token.token)).status_code == 403
    assert ReferenceToken.objects.get().revoked_at is None


def test_a_stale_admin_confirms_the_password_before_rotating(as_admin, alice_token):
    form_key = as_admin.get(rotate_url(alice_token.token)).context["form_key"]
    make_stale(as_admin)

    response = as_admin.post(rotate_url(alice_token.token), {"form_key": form_key})
    assert b"Confirm your password" in response.content
    assert dict(response.context["carried"])["form_key"] == form_key
    assert ReferenceToken.objects.count() == 1

    wrong = as_admin.post(
        rotate_url(alice_token.token), {"form_key": form_key, "sudo_password": "x"}
    )
    assert wrong.status_code == 403
    assert ReferenceToken.objects.count() == 1

    response = as_admin.post(
        rotate_url(alice_token.token), {"form_key": form_key, "sudo_password": PASSWORD}
    )
    assert TOKEN_RE.search(response.content.decode())
    assert ReferenceToken.objects.count() == 2


def test_a_stale_admin_confirms_before_creating_a_service_token_and_keeps_the_form(
    as_admin, sync_app
):
    url = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/create-token/"
    form_key = as_admin.get(url).context["form"].initial["form_key"]
    scopes = [sync_app.allowed_scopes.first().pk]
    form = {
        "description": "kept across sudo",
        "expires_at": "",
        "scopes": scopes,
        "form_key": form_key,
    }
    from tests.admin.test_create_service_token import in_days

    form["expires_at"] = in_days(20)
    make_stale(as_admin)

    response = as_admin.post(url, form)
    assert b"Confirm your password" in response.content
    assert b'value="kept across sudo"' in response.content
    assert ReferenceToken.objects.count() == 0

    response = as_admin.post(url, {**form, "sudo_password": PASSWORD})
    assert TOKEN_RE.search(response.content.decode())
    assert ReferenceToken.objects.get().description == "kept across sudo"


def test_a_stale_admin_confirms_before_rotating_a_resource_servers_secret(as_admin, orders_api):
    url = f"/admin/trustedapps/resourceserver/{orders_api.server.pk}/rotate-secret/"
    old_hash = orders_api.server.secret_hash
    make_stale(as_admin)

    response = as_admin.post(url)
    assert b"Confirm your password" in response.content
    orders_api.server.refresh_from_db()
    assert orders_api.server.secret_hash == old_hash

    response = as_admin.post(url, {"sudo_password": PASSWORD})
    orders_api.server.refresh_from_db()
    assert orders_api.server.secret_hash != old_hash


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_token_redirects_with_a_message(as_admin, db, method):
    response = getattr(as_admin, method)("/admin/tokens/referencetoken/99999/rotate/")
    assert response.status_code == 302

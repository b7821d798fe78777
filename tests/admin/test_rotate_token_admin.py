"""Admin: rotate a service token (its page, the user's and the application's tables), by those
who may issue service tokens and see tokens; never a personal token; sudo mode first."""

import re

import pytest
from django.contrib.admin.models import LogEntry

from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD, grant, signed_in, stored_anywhere
from tokens.domain import lifecycle
from tokens.domain.expiry import expiry_in_days
from tokens.models import ROTATED, ReferenceToken, TokenEvent
from tokens.validation.checks import check_for_holder

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


@pytest.fixture
def admins_own_token(admin_user, sync_app, in_30_days):
    """The superuser's own personal token: theirs alone, as anyone else's."""
    return lifecycle.issue_personal(
        user=admin_user, application=sync_app, expires_at=in_30_days, description="admin's cli"
    )


@pytest.fixture
def carol_who_sees_tokens(carol):
    """Carol, who may issue service tokens, with the view permission on tokens too."""
    return grant(carol, "view_referencetoken")


def test_the_confirmation_page_changes_nothing(as_admin, sync_service_token):
    response = as_admin.get(rotate_url(sync_service_token.token))
    assert response.status_code == 200
    assert b"Rotate the token" in response.content
    assert ReferenceToken.objects.get().revoked_at is None


def test_an_admin_rotates_a_service_token_and_sees_the_new_one_once(
    as_admin, sync_service_token, admin_user
):
    response = rotate(as_admin, sync_service_token.token)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [plaintext] = set(TOKEN_RE.findall(response.content.decode()))
    # It acts as the application's system user, never as the admin who rotated it.
    assert check_for_holder(plaintext).username == sync_service_token.token.user.username
    assert check_for_holder(sync_service_token.plaintext) is None
    old = ReferenceToken.objects.get(pk=sync_service_token.token.pk)
    assert (old.revoked_by, old.revocation_reason) == (admin_user, ROTATED)
    assert stored_anywhere(plaintext) == []
    entry = LogEntry.objects.get()
    assert "Rotated: replaced by enrt_…" in entry.get_change_message()
    assert plaintext not in entry.change_message


def test_carol_rotates_a_service_token_once_she_may_see_tokens(
    carol_who_sees_tokens, sync_service_token
):
    response = rotate(signed_in(carol_who_sees_tokens), sync_service_token.token)
    [plaintext] = set(TOKEN_RE.findall(response.content.decode()))
    assert check_for_holder(plaintext).username == sync_service_token.token.user.username


@pytest.mark.parametrize("method", ["get", "post"])
def test_carol_who_may_issue_but_not_see_tokens_cannot_rotate_any(
    carol, sync_service_token, alice_token, admins_own_token, method
):
    # Carol holds only "issue service tokens": rotating needs the view permission on tokens too,
    # and every id (a service token, a person's, a superuser's, none at all) answers the same.
    client = signed_in(carol)
    tokens = [sync_service_token.token, alice_token.token, admins_own_token.token]
    for url in [
        *(rotate_url(token) for token in tokens),
        "/admin/tokens/referencetoken/9999/rotate/",
    ]:
        response = getattr(client, method)(url, {"form_key": "x"} if method == "post" else {})
        assert response.status_code == 403, url
        assert not TOKEN_RE.search(response.content.decode())
    assert ReferenceToken.objects.count() == 3
    assert ReferenceToken.objects.filter(revoked_at__isnull=False).count() == 0


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


def test_staff_who_see_tokens_but_may_not_issue_cannot_rotate(sync_service_token, erin):
    erin = grant(erin, "view_referencetoken", "change_referencetoken")
    client = signed_in(erin)
    assert client.get(rotate_url(sync_service_token.token)).status_code == 403
    assert client.post(rotate_url(sync_service_token.token)).status_code == 403
    assert ReferenceToken.objects.get().revoked_at is None


@pytest.mark.parametrize(
    "who, whose",
    [
        ("admin_user", "alice_token"),  # a superuser, another person's token
        ("carol_who_sees_tokens", "alice_token"),  # may issue service tokens and see tokens
        ("carol_who_sees_tokens", "admins_own_token"),  # ... a superuser's token
        ("admin_user", "admins_own_token"),  # even the owner: the profile is the place for that
    ],
)
def test_nobody_rotates_a_personal_token_in_the_admin(request, who, whose, sync_service_token):
    # Nobody but the owner ever holds a personal token's plaintext: the admin revokes it.
    user, token = request.getfixturevalue(who), request.getfixturevalue(whose)
    client = signed_in(user)

    page = client.get(rotate_url(token.token))
    assert page.status_code == 403
    assert "Only its owner rotates it" in page.content.decode()
    assert f"/admin/tokens/referencetoken/{token.token.pk}/revoke/" in page.content.decode()
    assert 'name="form_key"' not in page.content.decode()

    # A real one-time key (from a page this person may use), so only the kind refuses the POST.
    form_key = client.get(rotate_url(sync_service_token.token)).context["form_key"]
    response = client.post(rotate_url(token.token), {"form_key": form_key})
    assert response.status_code == 403
    assert not TOKEN_RE.search(response.content.decode())
    assert check_for_holder(token.plaintext) is not None
    assert ReferenceToken.objects.filter(user=token.token.user).count() == 1
    assert LogEntry.objects.count() == 0


def test_rotate_is_offered_for_service_tokens_only_everywhere_in_the_admin(
    as_admin, alice, alice_token, sync_service_token, sync_app
):
    personal, service = rotate_url(alice_token.token), rotate_url(sync_service_token.token)
    pages = {
        "personal token": f"/admin/tokens/referencetoken/{alice_token.token.pk}/change/",
        "service token": f"/admin/tokens/referencetoken/{sync_service_token.token.pk}/change/",
        "person": f"/admin/accounts/user/{alice.pk}/change/",
        "system user": f"/admin/accounts/user/{sync_app.system_user.pk}/change/",
        "application": f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/",
    }
    content = {name: as_admin.get(url).content.decode() for name, url in pages.items()}

    assert all(personal not in page for page in content.values())
    assert service not in content["personal token"]
    assert service in content["service token"]
    for table in ["system user", "application"]:
        assert service + "?next=" in content[table]
    # Revoking stays offered for both kinds.
    assert f"/admin/tokens/referencetoken/{alice_token.token.pk}/revoke/" in content["person"]


def test_rotate_is_not_offered_to_carol_without_the_view_permission(
    carol, sync_service_token, sync_app
):
    carol = grant(carol, "view_trustedapplication")
    page = signed_in(carol).get(f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/")
    assert page.status_code == 200
    assert rotate_url(sync_service_token.token) not in page.content.decode()


def test_from_the_applications_table_it_goes_back_there(as_admin, sync_service_token, sync_app):
    back = f"/admin/trustedapps/trustedapplication/{sync_app.pk}/change/"
    opened = as_admin.get(rotate_url(sync_service_token.token) + f"?next={back}")
    response = as_admin.post(
        rotate_url(sync_service_token.token), {"form_key": opened.context["form_key"], "next": back}
    )
    assert f'href="{back}"'.encode() in response.content


def test_the_token_page_links_old_and_new(as_admin, sync_service_token):
    new = rotate(as_admin, sync_service_token.token).context["token"]
    old_id = sync_service_token.token.pk
    old_page = as_admin.get(f"/admin/tokens/referencetoken/{old_id}/change/")
    new_page = as_admin.get(f"/admin/tokens/referencetoken/{new.pk}/change/")
    assert f"/admin/tokens/referencetoken/{new.pk}/change/".encode() in old_page.content
    assert f"/admin/tokens/referencetoken/{old_id}/change/".encode() in new_page.content
    assert "Rotate…".encode() not in old_page.content  # revoked: nothing to rotate
    assert "Rotate…".encode() in new_page.content


def test_a_revoked_token_is_refused_with_a_message(as_admin, sync_service_token, admin_user):
    opened = as_admin.get(rotate_url(sync_service_token.token))
    lifecycle.revoke_token(sync_service_token.token, by=admin_user)
    response = as_admin.post(
        rotate_url(sync_service_token.token), {"form_key": opened.context["form_key"]}, follow=True
    )
    assert b"cannot be rotated. It is revoked." in response.content
    assert ReferenceToken.objects.count() == 1


def test_a_stale_admin_confirms_the_password_before_rotating(as_admin, sync_service_token):
    token = sync_service_token.token
    form_key = as_admin.get(rotate_url(token)).context["form_key"]
    make_stale(as_admin)

    response = as_admin.post(rotate_url(token), {"form_key": form_key})
    assert b"Confirm your password" in response.content
    assert dict(response.context["carried"])["form_key"] == form_key
    assert ReferenceToken.objects.count() == 1

    wrong = as_admin.post(rotate_url(token), {"form_key": form_key, "sudo_password": "x"})
    assert wrong.status_code == 403
    assert ReferenceToken.objects.count() == 1

    response = as_admin.post(rotate_url(token), {"form_key": form_key, "sudo_password": PASSWORD})
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
    from tests.helpers import in_days

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

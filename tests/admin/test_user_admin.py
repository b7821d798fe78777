"""Users: people and system users told apart, no password for system users, bulk token revoke."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD, as_posted, grant, resent, signed_in
from tokens.domain import lifecycle
from tokens.models import ReferenceToken
from tokens.validation.checks import check_for_holder

LIST = "/admin/accounts/user/"


def make_stale(client) -> None:
    session = client.session
    session[SESSION_KEY] -= 3600
    session.save()


def test_the_list_tells_people_and_system_users_apart(as_admin, alice, sync_app):
    page = as_admin.get(LIST).content.decode()
    assert "System user" in page and "Person" in page
    system = as_admin.get(LIST + "?kind=system").context["cl"].result_list
    assert [u.username for u in system] == ["app.com.example-sync"]
    people = {u.username for u in as_admin.get(LIST + "?kind=people").context["cl"].result_list}
    assert people == {"admin", "alice"}


def test_a_system_users_page_has_no_password(as_admin, sync_app):
    user = sync_app.system_user
    page = as_admin.get(f"{LIST}{user.pk}/change/").content.decode()
    assert "password/" not in page
    assert 'name="password"' not in page
    assert "cannot sign in" in page


def test_a_system_user_cannot_be_given_a_password(as_admin, sync_app):
    user = sync_app.system_user
    url = f"{LIST}{user.pk}/password/"
    assert as_admin.get(url).status_code == 403
    response = as_admin.post(
        url,
        {
            "password1": "x7!Long-enough-pw",
            "password2": "x7!Long-enough-pw",
            "usable_password": "true",
        },
    )
    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_a_person_can_still_get_a_new_password(as_admin, alice):
    assert as_admin.get(f"{LIST}{alice.pk}/password/").status_code == 200


def test_revoke_all_tokens_of_the_selected_users_after_confirmation(
    as_admin, admin_user, alice, bob, alice_token, sync_app, in_30_days
):
    bobs = lifecycle.issue_personal(user=bob, application=sync_app, expires_at=in_30_days)
    choose = {"action": "revoke_tokens", "index": "0", ACTION_CHECKBOX_NAME: [alice.pk]}
    page = as_admin.post(LIST, choose).content.decode()
    assert "1 token will be revoked" in page and "alice" in page
    assert check_for_holder(alice_token.plaintext) is not None

    confirm = {
        "action": "revoke_tokens",
        "post": "yes",
        "reason": "left the company",
        ACTION_CHECKBOX_NAME: [alice.pk],
    }
    assert as_admin.post(LIST, confirm).status_code == 302
    assert check_for_holder(alice_token.plaintext) is None
    assert check_for_holder(bobs.plaintext) is not None
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert (token.revoked_by, token.revocation_reason) == (admin_user, "left the company")


def test_staff_without_the_revoke_permission_cannot_revoke_users_tokens(alice, alice_token):
    from accounts.models import User
    from tests.helpers import grant

    viewer = grant(
        User.objects.create_user("vic", "vic@example.com", "x", is_staff=True), "view_user"
    )
    client = signed_in(viewer)
    assert "revoke_tokens" not in client.get(LIST).content.decode()
    confirm = {
        "action": "revoke_tokens",
        "post": "yes",
        "reason": "x",
        ACTION_CHECKBOX_NAME: [alice.pk],
    }
    client.post(LIST, confirm)
    assert check_for_holder(alice_token.plaintext) is not None


def test_deactivating_a_user_keeps_the_tokens_but_they_stop_validating(
    as_admin, alice, alice_token
):
    page = as_admin.get(f"{LIST}{alice.pk}/change/").content.decode()
    assert "1 token, 1 current" in page
    alice.is_active = False
    alice.save()
    response = as_admin.get(f"{LIST}{alice.pk}/change/")
    page = response.content.decode()
    assert "stay in place" in page
    assert ReferenceToken.objects.get().revoked_at is None
    assert check_for_holder(alice_token.plaintext) is None


def test_deactivating_from_the_form_says_the_tokens_stop(as_admin, alice, alice_token):
    data = {
        "username": "alice",
        "first_name": "Alice",
        "last_name": "",
        "email": "alice@example.com",
        "date_joined_0": alice.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": alice.date_joined.strftime("%H:%M:%S"),
    }  # is_active unticked
    response = as_admin.post(f"{LIST}{alice.pk}/change/", data, follow=True)
    alice.refresh_from_db()
    assert not alice.is_active
    assert "stop validating at once" in response.content.decode()
    assert ReferenceToken.objects.get().revoked_at is None


def test_staff_without_permission_get_403(erin):
    assert signed_in(erin).get(LIST).status_code == 403


def test_a_users_page_lists_their_tokens_near_the_top_with_revoke_all(as_admin, alice, alice_token):
    page = as_admin.get(f"{LIST}{alice.pk}/change/").content.decode()
    assert page.index('id="user-tokens"') < page.index('name="username"')
    assert alice_token.token.masked in page
    assert f'href="{LIST}{alice.pk}/revoke-tokens/"' in page
    assert "Revoke all tokens…" in page


def test_revoke_all_tokens_from_the_users_page_asks_why_then_revokes(
    as_admin, alice, alice_token, orders_api
):
    url = f"{LIST}{alice.pk}/revoke-tokens/"
    confirmation = as_admin.get(url)
    assert confirmation.status_code == 200
    assert "1 token will be revoked" in confirmation.content.decode()
    assert check_for_holder(alice_token.plaintext) is not None  # GET changes nothing
    assert as_admin.post(url, {"reason": ""}).status_code == 200  # a reason is required
    response = as_admin.post(url, {"reason": "laptop stolen"}, follow=True)
    assert response.redirect_chain[-1][0] == f"{LIST}{alice.pk}/change/"
    assert "Revoked 1 token." in response.content.decode()
    token = ReferenceToken.objects.get(pk=alice_token.token.pk)
    assert token.revocation_reason == "laptop stolen"
    assert check_for_holder(alice_token.plaintext) is None


def test_revoke_all_needs_the_revoke_permission(alice, alice_token, dave):
    response = signed_in(dave).post(f"{LIST}{alice.pk}/revoke-tokens/", {"reason": "x"})
    assert response.status_code == 403
    assert check_for_holder(alice_token.plaintext) is not None


def test_a_locked_out_person_can_be_unlocked_from_their_page(as_admin, alice):
    from axes.models import AccessAttempt
    from django.conf import settings

    AccessAttempt.objects.create(
        username="alice",
        ip_address="203.0.113.9",
        user_agent="test",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="",
        post_data="",
    )
    page = as_admin.get(f"{LIST}{alice.pk}/change/").content.decode()
    assert "is locked out after too many failed sign-ins" in page
    assert f'href="{LIST}{alice.pk}/unlock/"' in page
    assert as_admin.get(f"{LIST}{alice.pk}/unlock/").status_code == 200
    response = as_admin.post(f"{LIST}{alice.pk}/unlock/", follow=True)
    # The username as it is (the admin capitalises the first letter of a message).
    assert "Unlocked: alice can sign in again at once." in response.content.decode()
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert "locked out" not in as_admin.get(f"{LIST}{alice.pk}/change/").content.decode()


def test_a_person_paused_by_guesses_from_many_addresses_shows_as_locked_out(as_admin, alice):
    # No address at its limit, the username at its own: the page says so, and Unlock ends it.
    from axes.models import AccessAttempt
    from django.conf import settings

    for n in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        AccessAttempt.objects.create(
            username="alice",
            ip_address=f"198.51.100.{n + 1}",
            user_agent="test",
            failures_since_start=1,
            get_data="",
            post_data="",
        )
    page = as_admin.get(f"{LIST}{alice.pk}/change/").content.decode()
    assert "is locked out after too many failed sign-ins" in page
    as_admin.post(f"{LIST}{alice.pk}/unlock/")
    assert not AccessAttempt.objects.filter(username="alice").exists()


def test_a_system_user_is_read_only_and_cannot_be_deleted(as_admin, sync_app):
    system_user = sync_app.system_user
    response = as_admin.get(f"{LIST}{system_user.pk}/change/")
    page = response.content.decode()
    assert 'name="username"' not in page  # read-only: shown, not editable
    assert "None: a system user cannot sign in." in page
    assert "deletelink" not in page
    assert as_admin.post(f"{LIST}{system_user.pk}/delete/", {"post": "yes"}).status_code == 403
    system_user.refresh_from_db()
    # The badge fits one line and carries no inline style.
    listing = as_admin.get(f"{LIST}?kind=system").content.decode()
    assert '<span class="badge badge-system" title="System user of' in listing
    assert "style=" not in listing.split('class="badge badge-system"')[1].split(">")[0]


# Admin rights: is_staff, is_superuser, groups and user_permissions. Only superusers change them,
# and only after confirming their password; other staff cannot change administrators at all.
ADMIN_RIGHTS = ["is_staff", "is_superuser", "groups", "user_permissions"]


@pytest.fixture
def carol_the_user_admin(carol) -> User:
    """Carol may issue service tokens and manage users: she must still not grant herself more."""
    return grant(carol, "view_user", "change_user", "add_user", "delete_user")


@pytest.fixture
def token_issuers(db) -> Group:
    group = Group.objects.create(name="token issuers")
    group.permissions.add(Permission.objects.get(codename="issue_service_tokens"))
    return group


def rights_of(user: User) -> tuple:
    user = User.objects.get(pk=user.pk)
    return (
        user.is_staff,
        user.is_superuser,
        sorted(g.name for g in user.groups.all()),
        sorted(p.codename for p in user.user_permissions.all()),
    )


def test_staff_who_are_no_superusers_see_admin_rights_read_only(carol_the_user_admin, alice):
    client = signed_in(carol_the_user_admin)
    for user in [carol_the_user_admin, alice]:
        page = client.get(f"{LIST}{user.pk}/change/")
        assert page.status_code == 200
        assert 'name="username"' in page.content.decode()  # the page is editable...
        for right in ADMIN_RIGHTS:  # ...but not these
            assert f'name="{right}"' not in page.content.decode()
        assert "Only a superuser changes staff and superuser status" in page.content.decode()
    add_page = signed_in(carol_the_user_admin).get(f"{LIST}add/").content.decode()
    assert not any(f'name="{right}"' in add_page for right in ADMIN_RIGHTS)


def test_a_crafted_post_does_not_make_carol_a_superuser(carol_the_user_admin, token_issuers):
    client = signed_in(carol_the_user_admin)
    url = f"{LIST}{carol_the_user_admin.pk}/change/"
    before = rights_of(carol_the_user_admin)
    crafted = {
        **as_posted(client.get(url)),
        "first_name": "Carol",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [token_issuers.pk],
        "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
    }

    response = client.post(url, crafted)

    assert response.status_code == 302  # her own name, saved...
    assert User.objects.get(pk=carol_the_user_admin.pk).first_name == "Carol"
    assert rights_of(carol_the_user_admin) == before  # ...her rights untouched


def test_a_crafted_add_form_does_not_make_an_administrator(carol_the_user_admin, token_issuers):
    crafted = {
        "username": "mallory",
        "usable_password": "true",
        "password1": "a long enough passphrase 7",
        "password2": "a long enough passphrase 7",
        "is_staff": "on",
        "is_superuser": "on",
        "groups": [token_issuers.pk],
        "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
    }
    response = signed_in(carol_the_user_admin).post(f"{LIST}add/", crafted)
    assert response.status_code == 302
    assert rights_of(User.objects.get(username="mallory")) == (False, False, [], [])


@pytest.mark.parametrize("target", ["admin_user", "dave"])
def test_staff_who_are_no_superusers_cannot_change_another_administrator(
    request, carol_the_user_admin, target
):
    # Changing a superuser's (or another staff member's) e-mail or password would take over an
    # account with more powers than carol's own: she sees it, and changes nothing.
    user = request.getfixturevalue(target)
    client = signed_in(carol_the_user_admin)
    url = f"{LIST}{user.pk}/"
    page = client.get(f"{url}change/")
    assert page.status_code == 200
    assert 'name="email"' not in page.content.decode()
    assert "password/" not in page.content.decode()

    data = {"username": user.username, "email": "carol@example.com", "is_active": "on"}
    assert client.post(f"{url}change/", data).status_code == 403
    assert client.get(f"{url}password/").status_code == 403
    new_password = {"password1": "taken over 7 times", "password2": "taken over 7 times"}
    assert client.post(f"{url}password/", new_password).status_code == 403
    assert client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    user.refresh_from_db()
    assert (user.email, user.check_password(PASSWORD)) == (f"{user.username}@example.com", True)


def test_staff_who_are_no_superusers_still_manage_people(carol_the_user_admin, alice):
    client = signed_in(carol_the_user_admin)
    url = f"{LIST}{alice.pk}/change/"
    response = client.post(url, {**as_posted(client.get(url)), "email": "alice@example.org"})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).email == "alice@example.org"


def test_a_superuser_confirms_the_password_before_granting_rights(as_admin, alice, token_issuers):
    url = f"{LIST}{alice.pk}/change/"
    granted = {**as_posted(as_admin.get(url)), "is_staff": "on", "groups": [token_issuers.pk]}
    make_stale(as_admin)

    asked = as_admin.post(url, granted)
    assert b"Confirm your password" in asked.content
    assert "change the admin rights of alice (staff status, groups)" in asked.content.decode()
    assert rights_of(alice) == (False, False, [], [])

    wrong = as_admin.post(url, {**resent(asked.context["carried"]), "sudo_password": "x"})
    assert wrong.status_code == 403
    assert rights_of(alice) == (False, False, [], [])

    confirmed = {**resent(asked.context["carried"]), "sudo_password": PASSWORD}
    assert as_admin.post(url, confirmed).status_code == 302
    assert rights_of(alice) == (True, False, ["token issuers"], [])


def test_a_superuser_changing_no_right_is_not_asked(as_admin, alice):
    url = f"{LIST}{alice.pk}/change/"
    data = {**as_posted(as_admin.get(url)), "email": "alice@example.org"}
    make_stale(as_admin)
    assert as_admin.post(url, data).status_code == 302
    assert User.objects.get(pk=alice.pk).email == "alice@example.org"


def test_a_superuser_making_a_superuser_is_asked_on_the_add_form_too(as_admin):
    make_stale(as_admin)
    form = {
        "username": "newadmin",
        "usable_password": "true",
        "password1": "a long enough passphrase 7",
        "password2": "a long enough passphrase 7",
    }
    # The add form has no rights to grant: the user is made, and the rights come on its page.
    assert as_admin.post(f"{LIST}add/", form).status_code == 302
    user = User.objects.get(username="newadmin")
    url = f"{LIST}{user.pk}/change/"
    asked = as_admin.post(url, {**as_posted(as_admin.get(url)), "is_superuser": "on"})
    assert b"Confirm your password" in asked.content
    assert not User.objects.get(pk=user.pk).is_superuser


def test_the_users_list_shows_who_is_locked_out_one_click_from_unlock(as_admin, alice, bob):
    # Issue 20, defect 13: the list says it, filters by it, and the dashboard's tile leads here.
    from axes.models import AccessAttempt
    from django.conf import settings

    AccessAttempt.objects.create(
        username="alice",
        ip_address="203.0.113.9",
        user_agent="test",
        failures_since_start=settings.AXES_FAILURE_LIMIT,
        get_data="",
        post_data="",
    )
    page = as_admin.get(LIST).content.decode()
    assert '<span class="label label--suspended">Locked out</span>' in page
    assert f'href="{LIST}{alice.pk}/unlock/">Unlock…</a>' in page
    locked = as_admin.get(LIST + "?locked=yes").context["cl"].result_list
    assert [user.username for user in locked] == ["alice"]
    assert f'href="{LIST}?locked=yes"' in as_admin.get("/admin/").content.decode()

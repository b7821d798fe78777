"""People and system users: a system user never signs in."""

import pytest
from django.contrib.auth import authenticate

from accounts.models import User
from tests.helpers import PASSWORD


def test_a_person_can_sign_in(client, rf, alice):
    # django-axes needs the request to throttle by address, so the test client gets one.
    assert client.login(request=rf.post("/"), username="alice", password=PASSWORD)


def test_a_system_user_has_an_unusable_password_and_cannot_sign_in(client, rf, sync_app):
    system_user = sync_app.system_user
    assert not system_user.has_usable_password()
    assert not client.login(request=rf.post("/"), username=system_user.username, password="")


def test_a_system_user_cannot_sign_in_even_if_given_a_password(client, rf, sync_app):
    system_user = sync_app.system_user
    system_user.set_password(PASSWORD)
    system_user.save()
    assert not client.login(request=rf.post("/"), username=system_user.username, password=PASSWORD)
    assert authenticate(rf.post("/"), username=system_user.username, password=PASSWORD) is None


def test_people_and_system_users_are_told_apart(alice, sync_app):
    assert list(User.objects.people()) == [alice]
    assert list(User.objects.system_users()) == [sync_app.system_user]
    assert not alice.is_system_user
    assert sync_app.system_user.is_system_user


@pytest.mark.parametrize(
    ("persona", "is_admin"), [("alice", False), ("admin_user", True), ("carol", True)]
)
def test_instance_admins_are_superusers_or_holders_of_the_permission(request, persona, is_admin):
    user = request.getfixturevalue(persona)
    assert user.is_instance_admin is is_admin
    assert User.objects.holds_admin_permission(user.pk) is (persona == "carol")


def test_an_inactive_superuser_is_no_instance_admin(admin_user):
    admin_user.is_active = False
    assert not admin_user.is_instance_admin


def test_a_system_user_is_never_an_instance_admin(sync_app):
    system_user = sync_app.system_user
    system_user.is_superuser = True
    assert not system_user.is_instance_admin


def test_the_first_password_hasher_is_argon2(alice):
    assert alice.password.startswith("argon2")

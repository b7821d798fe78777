"""Groups: their permissions are their members', so only superusers change them, in sudo mode."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from accounts.sudo import SESSION_KEY
from tests.helpers import PASSWORD, as_posted, grant, resent, signed_in

LIST = "/admin/auth/group/"


@pytest.fixture
def carols_group(carol) -> Group:
    """A group carol belongs to, with no permission yet."""
    group = Group.objects.create(name="operators")
    carol.groups.add(group)
    return group


def codenames(group: Group) -> list[str]:
    return sorted(p.codename for p in Group.objects.get(pk=group.pk).permissions.all())


def test_staff_who_are_no_superusers_cannot_give_their_group_permissions(carol, carols_group):
    # Carol may edit groups; were the permissions editable, she would give herself any.
    carol = grant(carol, "view_group", "change_group", "add_group")
    client = signed_in(carol)
    url = f"{LIST}{carols_group.pk}/change/"
    page = client.get(url)
    assert 'name="permissions"' not in page.content.decode()

    every = list(Permission.objects.values_list("pk", flat=True))
    response = client.post(url, {**as_posted(page), "name": "ops", "permissions": every})

    assert response.status_code == 302
    assert Group.objects.get(pk=carols_group.pk).name == "ops"
    assert codenames(carols_group) == []
    assert not User.objects.get(pk=carol.pk).has_perm("auth.change_user")

    client.post(f"{LIST}add/", {"name": "escalators", "permissions": every})
    assert codenames(Group.objects.get(name="escalators")) == []


def test_a_superuser_confirms_the_password_before_changing_a_groups_permissions(
    as_admin, carols_group
):
    url = f"{LIST}{carols_group.pk}/change/"
    issue = Permission.objects.get(codename="issue_service_tokens")
    data = {**as_posted(as_admin.get(url)), "permissions": [issue.pk]}
    session = as_admin.session
    session[SESSION_KEY] -= 3600
    session.save()

    asked = as_admin.post(url, data)
    assert b"Confirm your password" in asked.content
    assert "change the permissions of the group operators" in asked.content.decode()
    assert codenames(carols_group) == []

    confirmed = {**resent(asked.context["carried"]), "sudo_password": PASSWORD}
    assert as_admin.post(url, confirmed).status_code == 302
    assert codenames(carols_group) == ["issue_service_tokens"]

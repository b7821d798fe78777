"""Admin personas: clients signed in as the instance admin, carol, and staff with little power."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from tests.conftest import PASSWORD


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grant(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh, without a stale permission cache


@pytest.fixture
def as_admin(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def dave(db) -> User:
    """Staff who may edit trusted applications but may not issue service tokens."""
    dave = User.objects.create_user("dave", "dave@example.com", PASSWORD, is_staff=True)
    return grant(dave, "view_trustedapplication", "change_trustedapplication")


@pytest.fixture
def erin(db) -> User:
    """Staff with no permission at all: the admin must show her nothing."""
    return User.objects.create_user("erin", "erin@example.com", PASSWORD, is_staff=True)


def stored_anywhere(secret: str) -> list[str]:
    """Every table and column whose stored text contains `secret` (there must be none)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        columns = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*columns):
            for column, value in zip(columns, row, strict=True):
                if value is not None and secret in str(value):
                    found.append(f"{model._meta.db_table}.{column}")
    return found


def as_posted(response) -> dict:
    """An admin form as the browser sends it back unchanged (ticked boxes "on", ids of choices)."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value in (None, False):
            continue
        if isinstance(value, list | tuple):
            value = [getattr(choice, "pk", choice) for choice in value]
        data[name] = "on" if value is True else value
    return data


def resent(carried: list[tuple[str, str]]) -> dict:
    """The hidden fields of a sudo-mode page, as its form sends them."""
    data: dict = {}
    for name, value in carried:
        data.setdefault(name, []).append(value)
    return data

"""Admin personas: clients signed in as the instance admin, carol, and staff with little power."""

import pytest
from django.test import Client

from accounts.models import User
from tests.helpers import PASSWORD, grant, signed_in


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

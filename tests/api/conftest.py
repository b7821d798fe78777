"""What the endpoint tests share: a database gone away, as a fixture."""

import pytest

from tests.helpers import database_unreachable


@pytest.fixture
def unreachable_database(transactional_db):
    """A context manager; transactional_db, since a closed connection cannot roll back a test."""
    return database_unreachable

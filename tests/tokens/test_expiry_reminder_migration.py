"""Migration 0013 keeps the expiry notices already sent ("7d", "1d") as reminder stages in days,
so that no token is reminded again of a stage it had (and back again)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("tokens", "0012_merge_20261205_0750")]
AFTER = [("tokens", "0013_expiry_reminder_stages")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_stages_already_sent_are_kept(alice, sync_app):
    apps = migrate(BEFORE)
    token = apps.get_model("tokens", "ReferenceToken")
    soon = timezone.now() + timezone.timedelta(days=3)
    for n, notice in enumerate(["", "7d", "1d"]):
        token.objects.create(
            kind="personal",
            user_id=alice.pk,
            application_id=sync_app.pk,
            token_hash=f"{n:064d}",
            hint=f"H{n}",
            expires_at=soon,
            expiry_notice=notice,
        )

    apps = migrate(AFTER)
    token = apps.get_model("tokens", "ReferenceToken")
    assert dict(token.objects.values_list("hint", "expiry_reminder_days")) == {
        "H0": None,
        "H1": 7,
        "H2": 1,
    }

    apps = migrate(BEFORE)
    token = apps.get_model("tokens", "ReferenceToken")
    assert dict(token.objects.values_list("hint", "expiry_notice")) == {
        "H0": "",
        "H1": "7d",
        "H2": "1d",
    }


@pytest.fixture(autouse=True)
def _latest_schema_afterwards():
    """Whatever happens, the tests after this one find every migration applied."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

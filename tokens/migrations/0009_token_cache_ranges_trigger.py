"""A change of a token's address ranges (issue 23) announces the token to every worker's cache.

The last refused address is written on refusals and stays silent, as the last use does.
"""

from django.db import migrations

COLUMNS = (
    "token_hash",
    "kind",
    "user_id",
    "application_id",
    "created_at",
    "expires_at",
    "revoked_at",
    "chain_started_at",
)


def _trigger(apps, schema_editor, columns: tuple[str, ...]) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    token = apps.get_model("tokens", "ReferenceToken")._meta.db_table
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_token_update ON "{token}"', None)
    schema_editor.execute(
        f'CREATE TRIGGER token_cache_token_update AFTER UPDATE ON "{token}" FOR EACH ROW '
        f"WHEN ({changed}) EXECUTE FUNCTION portal_token_cache_token()",
        None,
    )


def create(apps, schema_editor):
    _trigger(apps, schema_editor, (*COLUMNS, "allowed_ranges"))


def drop(apps, schema_editor):
    _trigger(apps, schema_editor, COLUMNS)


class Migration(migrations.Migration):
    dependencies = [("tokens", "0008_token_address_ranges")]

    operations = [migrations.RunPython(create, drop, elidable=False)]

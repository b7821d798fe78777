"""Any change to a resource server, a trusted application or a scope row is announced.

0004 listed the columns the rule reads today; these three tables are written only by
administrators, so announcing every change costs nothing and keeps new columns (such as a
server's resource URIs, which the answer's `aud` carries) covered without a new migration.
Users keep their column list: a sign-in writes last_login, which must stay silent.
"""

from django.db import migrations

EVERY = "EXECUTE FUNCTION portal_token_cache_all()"


def _tables(apps):
    return [
        apps.get_model("trustedapps", "TrustedApplication")._meta.db_table,
        apps.get_model("trustedapps", "ResourceServer")._meta.db_table,
        apps.get_model("trustedapps", "Scope")._meta.db_table,
    ]


def any_change(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_update ON "{table}"', None)
        schema_editor.execute(
            f'CREATE TRIGGER token_cache_update AFTER UPDATE ON "{table}" FOR EACH ROW'
            f" WHEN (OLD.* IS DISTINCT FROM NEW.*) {EVERY}",
            None,
        )


def listed_columns(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    columns = {
        0: ("is_enabled", "token_policy", "has_system_user", "application_uri"),
        1: ("client_id", "secret_hash", "is_enabled"),
        2: ("name",),
    }
    for index, table in enumerate(_tables(apps)):
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns[index])
        schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_update ON "{table}"', None)
        schema_editor.execute(
            f'CREATE TRIGGER token_cache_update AFTER UPDATE ON "{table}" FOR EACH ROW'
            f" WHEN ({changed}) {EVERY}",
            None,
        )


class Migration(migrations.Migration):
    dependencies = [("tokens", "0004_token_cache_triggers")]

    operations = [migrations.RunPython(any_change, listed_columns, elidable=False)]

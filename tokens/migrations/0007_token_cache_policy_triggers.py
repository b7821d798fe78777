"""The lifetime rules (issue 23) reach every worker's validation cache.

Any change to the instance's token policies (one row, written only by administrators) announces
`*:<table>`, as the application's rows already do (0005); a token's chain start joins the token
columns whose change announces the token.
"""

from django.db import migrations

EVERY = "EXECUTE FUNCTION portal_token_cache_all()"
TOKEN_COLUMNS = ("token_hash", "kind", "user_id", "application_id", "created_at", "expires_at")


def _token_update(columns: tuple[str, ...]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    return f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION portal_token_cache_token()"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    policy = apps.get_model("trustedapps", "InstanceTokenPolicy")._meta.db_table
    token = apps.get_model("tokens", "ReferenceToken")._meta.db_table
    for timing, name in (
        ("INSERT OR UPDATE OR DELETE", "token_cache_policy"),
        ("TRUNCATE", "token_cache_truncate"),
    ):
        schema_editor.execute(
            f'CREATE TRIGGER {name} AFTER {timing} ON "{policy}" FOR EACH STATEMENT {EVERY}', None
        )
    columns = (*TOKEN_COLUMNS, "revoked_at", "chain_started_at")
    schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_token_update ON "{token}"', None)
    schema_editor.execute(
        f'CREATE TRIGGER token_cache_token_update AFTER UPDATE ON "{token}" '
        + _token_update(columns),
        None,
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    policy = apps.get_model("trustedapps", "InstanceTokenPolicy")._meta.db_table
    token = apps.get_model("tokens", "ReferenceToken")._meta.db_table
    for name in ("token_cache_policy", "token_cache_truncate"):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {name} ON "{policy}"', None)
    schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_token_update ON "{token}"', None)
    schema_editor.execute(
        f'CREATE TRIGGER token_cache_token_update AFTER UPDATE ON "{token}" '
        + _token_update((*TOKEN_COLUMNS, "revoked_at")),
        None,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0006_token_chain_started_at"),
        ("trustedapps", "0005_lifetime_rules"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]

"""A resource server's resource URIs are part of the validation answer (`aud`): changing them
announces the change to every worker's token cache, like its secret or its switch."""

from django.db import migrations

WATCHED = ("client_id", "secret_hash", "is_enabled")


def _replace_trigger(apps, schema_editor, columns):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("trustedapps", "ResourceServer")._meta.db_table
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
    schema_editor.execute(f'DROP TRIGGER IF EXISTS token_cache_update ON "{table}"')
    schema_editor.execute(
        f'CREATE TRIGGER token_cache_update AFTER UPDATE ON "{table}" '
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION portal_token_cache_all()"
    )


def watch_resource_uris(apps, schema_editor):
    _replace_trigger(apps, schema_editor, (*WATCHED, "resource_uris"))


def unwatch_resource_uris(apps, schema_editor):
    _replace_trigger(apps, schema_editor, WATCHED)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0004_token_cache_triggers"),
        ("trustedapps", "0003_resource_server_uris_and_vschar_client_ids"),
    ]

    operations = [
        migrations.RunPython(watch_resource_uris, unwatch_resource_uris, elidable=False)
    ]

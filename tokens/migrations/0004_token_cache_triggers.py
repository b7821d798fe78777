"""PostgreSQL announces every change that can alter a validation answer (tokens/validation/cache.py).

One channel, two kinds of payload: `t:<token hash>` when one token's own facts change (issued,
revoked, expiry, scopes, deleted), `*:<table>` when a change can reach many tokens (a user, an
application, a resource server, a scope, a permission link). UPDATE triggers fire only when a
column the active rule reads changes, so the last-use write (and a sign-in's last_login) stays
silent. SQLite has no LISTEN: nothing to do there.
"""

from django.db import migrations

CHANNEL = "portal_token_cache"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION portal_token_cache_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('{CHANNEL}', 't:' || OLD.token_hash);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_notify('{CHANNEL}', 't:' || NEW.token_hash);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION portal_token_cache_token_scope() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
    found text;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD.referencetoken_id;
    ELSE changed := NEW.referencetoken_id;
    END IF;
    EXECUTE format('SELECT token_hash FROM %I WHERE id = $1', TG_ARGV[0]) INTO found USING changed;
    -- A token deleted along with its scopes announces itself.
    IF found IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', 't:' || found);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION portal_token_cache_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '*:' || TG_TABLE_NAME);
    RETURN NULL;
END $$;
"""


def _tables(apps):
    token = apps.get_model("tokens", "ReferenceToken")
    user = apps.get_model("accounts", "User")
    group = apps.get_model("auth", "Group")
    app = apps.get_model("trustedapps", "TrustedApplication")
    server = apps.get_model("trustedapps", "ResourceServer")
    scope = apps.get_model("trustedapps", "Scope")
    return {
        "token": token._meta.db_table,
        "token_scopes": token.scopes.through._meta.db_table,
        "user": user._meta.db_table,
        "user_groups": user.groups.through._meta.db_table,
        "user_permissions": user.user_permissions.through._meta.db_table,
        "group_permissions": group.permissions.through._meta.db_table,
        "app": app._meta.db_table,
        "app_scopes": app.allowed_scopes.through._meta.db_table,
        "server": server._meta.db_table,
        "server_scopes": server.scopes.through._meta.db_table,
        "scope": scope._meta.db_table,
    }


def _changed(*columns: str) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _statements(t: dict[str, str]) -> list[str]:
    every = "EXECUTE FUNCTION portal_token_cache_all()"
    statements = [FUNCTIONS]

    def trigger(table: str, name: str, timing: str, action: str) -> None:
        statements.append(f'CREATE TRIGGER {name} AFTER {timing} ON "{table}" {action}')

    token_update = _changed(
        "token_hash", "kind", "user_id", "application_id", "created_at", "expires_at", "revoked_at"
    )
    trigger(
        t["token"],
        "token_cache_token_change",
        "INSERT OR DELETE",
        "FOR EACH ROW EXECUTE FUNCTION portal_token_cache_token()",
    )
    trigger(
        t["token"],
        "token_cache_token_update",
        "UPDATE",
        f"FOR EACH ROW WHEN ({token_update}) EXECUTE FUNCTION portal_token_cache_token()",
    )
    trigger(
        t["token_scopes"],
        "token_cache_token_scope",
        "INSERT OR UPDATE OR DELETE",
        "FOR EACH ROW EXECUTE FUNCTION portal_token_cache_token_scope('" + t["token"] + "')",
    )
    watched_updates = {
        "user": ("is_active", "is_superuser", "username", "system_application_id"),
        "app": ("is_enabled", "token_policy", "has_system_user", "application_uri"),
        "server": ("client_id", "secret_hash", "is_enabled"),
        "scope": ("name",),
    }
    for key, columns in watched_updates.items():
        trigger(
            t[key], "token_cache_update", "UPDATE", f"FOR EACH ROW WHEN ({_changed(*columns)}) {every}"
        )
        # An insert can matter too: a cached "no such caller" for a server registered now.
        trigger(t[key], "token_cache_insert_delete", "INSERT OR DELETE", f"FOR EACH STATEMENT {every}")
    for key in ("user_groups", "user_permissions", "group_permissions", "app_scopes", "server_scopes"):
        trigger(t[key], "token_cache_link", "INSERT OR UPDATE OR DELETE", f"FOR EACH STATEMENT {every}")
    for key, table in t.items():
        trigger(table, "token_cache_truncate", "TRUNCATE", f"FOR EACH STATEMENT {every}")
    return statements


def _names(t: dict[str, str]) -> list[tuple[str, str]]:
    names = [(t["token"], "token_cache_token_change"), (t["token"], "token_cache_token_update")]
    names.append((t["token_scopes"], "token_cache_token_scope"))
    for key in ("user", "app", "server", "scope"):
        names += [(t[key], "token_cache_update"), (t[key], "token_cache_insert_delete")]
    for key in ("user_groups", "user_permissions", "group_permissions", "app_scopes", "server_scopes"):
        names.append((t[key], "token_cache_link"))
    names += [(table, "token_cache_truncate") for table in t.values()]
    return names


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in _statements(_tables(apps)):
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name in _names(_tables(apps)):
        schema_editor.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
    for function in ("token", "token_scope", "all"):
        schema_editor.execute(f"DROP FUNCTION IF EXISTS portal_token_cache_{function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0003_token_rotation_and_expiry_notice"),
        ("trustedapps", "0002_default_scopes"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]

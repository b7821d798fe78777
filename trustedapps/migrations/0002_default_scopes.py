from django.db import migrations

DEFAULT_SCOPES = {
    "read": "Read data on the user's behalf.",
    "update": "Create, change and delete data on the user's behalf.",
}


def add_default_scopes(apps, schema_editor):
    Scope = apps.get_model("trustedapps", "Scope")
    for name, description in DEFAULT_SCOPES.items():
        Scope.objects.get_or_create(name=name, defaults={"description": description})


class Migration(migrations.Migration):
    dependencies = [("trustedapps", "0001_initial")]

    operations = [migrations.RunPython(add_default_scopes, migrations.RunPython.noop)]

"""Issue 23: the expiry notice's stage becomes a number of days before expiry (the reminder
schedule), and a token records when its owner was warned it would be revoked for going unused.

The stages already sent are kept: "7d" is 7 days, "1d" is 1, so no token is reminded again.
"""

from django.db import migrations, models

OLD_TO_DAYS = {"7d": 7, "1d": 1}


def to_days(apps, schema_editor):
    token = apps.get_model("tokens", "ReferenceToken")
    for old, days in OLD_TO_DAYS.items():
        token.objects.filter(expiry_notice=old).update(expiry_reminder_days=days)


def to_stages(apps, schema_editor):
    token = apps.get_model("tokens", "ReferenceToken")
    token.objects.filter(expiry_reminder_days__lte=1).update(expiry_notice="1d")
    token.objects.filter(expiry_reminder_days__gt=1, expiry_reminder_days__lte=7).update(
        expiry_notice="7d"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0012_merge_20261205_0750"),
    ]

    operations = [
        migrations.AddField(
            model_name="referencetoken",
            name="expiry_reminder_days",
            field=models.PositiveSmallIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="referencetoken",
            name="unused_warned_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(to_days, to_stages, elidable=True),
        migrations.RemoveField(
            model_name="referencetoken",
            name="expiry_notice",
        ),
    ]

"""Tokens rotated before chains were recorded (issue 23) get the start of their rotation chain, so
a longest-chain rule counts their whole chain, not only the latest token.

A token replaces one made before it, so walking tokens in creation order meets every chain's
earlier tokens first. Only the starts of replaced tokens are kept in memory.
"""

from django.db import migrations

BATCH = 1000


def backfill(apps, schema_editor):
    token = apps.get_model("tokens", "ReferenceToken")
    replaced = set(
        token.objects.filter(rotated_from__isnull=False).values_list("rotated_from_id", flat=True)
    )
    if not replaced:
        return
    starts: dict[int, object] = {}
    changed = []
    rows = (
        token.objects.filter(chain_started_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("id", "created_at", "rotated_from_id")
    )
    for pk, created_at, parent in rows.iterator(chunk_size=BATCH):
        start = starts.get(parent, created_at) if parent is not None else created_at
        if pk in replaced:
            starts[pk] = start
        if parent is not None:
            changed.append(token(pk=pk, chain_started_at=start))
        if len(changed) >= BATCH:
            token.objects.bulk_update(changed, ["chain_started_at"])
            changed = []
    if changed:
        token.objects.bulk_update(changed, ["chain_started_at"])


class Migration(migrations.Migration):
    dependencies = [("tokens", "0010_token_ranges_db_default")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]

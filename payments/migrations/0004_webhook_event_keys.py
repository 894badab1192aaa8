from django.db import migrations, models

# The inbox's uniqueness per provider and event moves to a key table of its own before the
# inbox is partitioned by month (0005): a unique index on a partitioned table must contain
# the partition key, and a redelivery never has the first delivery's received_at. The keys
# of the events already stored are copied first, so no duplicate slips in between.
FILL_KEYS = """
INSERT INTO payments_webhookeventkey (provider, event_id, webhook_id, received_at)
SELECT provider, event_id, id, received_at FROM payments_webhookevent
"""


def fill_keys(apps, schema_editor):
    schema_editor.execute(FILL_KEYS)


def empty_keys(apps, schema_editor):
    schema_editor.execute("DELETE FROM payments_webhookeventkey")


class Migration(migrations.Migration):
    dependencies = [("payments", "0003_list_indexes")]

    operations = [
        migrations.CreateModel(
            name="WebhookEventKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),  # fmt: skip
                ("provider", models.CharField(max_length=20)),
                ("event_id", models.CharField(max_length=120)),
                ("webhook_id", models.BigIntegerField()),
                ("received_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("provider", "event_id"), name="webhook_key_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(fill_keys, empty_keys, elidable=False),
        migrations.RemoveConstraint(model_name="webhookevent", name="webhook_unique_event"),
    ]

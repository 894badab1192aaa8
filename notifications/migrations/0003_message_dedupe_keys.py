from django.db import migrations, models

# Message.dedupe_key's uniqueness moves to a key table of its own before the message log is
# partitioned by month (0004): a unique index on a partitioned table must contain the
# partition key. The keys already used are copied first, so no event is messaged twice.
FILL_KEYS = """
INSERT INTO notifications_messagededupekey (dedupe_key, message_id, created_at)
SELECT dedupe_key, id, created_at FROM notifications_message WHERE dedupe_key IS NOT NULL
"""


def fill_keys(apps, schema_editor):
    schema_editor.execute(FILL_KEYS)


def empty_keys(apps, schema_editor):
    schema_editor.execute("DELETE FROM notifications_messagededupekey")


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_roles")]

    operations = [
        migrations.CreateModel(
            name="MessageDedupeKey",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),  # fmt: skip
                ("dedupe_key", models.CharField(max_length=120, unique=True)),
                ("message_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(fill_keys, empty_keys, elidable=False),
        migrations.AlterField(
            model_name="message",
            name="dedupe_key",
            field=models.CharField(blank=True, db_index=True, max_length=120, null=True),
        ),
    ]

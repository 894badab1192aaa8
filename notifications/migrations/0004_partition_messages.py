from django.db import migrations

from core.pg_only import partition_by_month


class Migration(migrations.Migration):
    """PostgreSQL: the member message log becomes monthly partitions of ``created_at`` (kept
    24 months by default, then detached by core/partitions.py). Rows are still updated while
    they are delivered; an update never moves a row, ``created_at`` is fixed. SQLite keeps the
    plain table."""

    dependencies = [("notifications", "0003_message_dedupe_keys")]

    operations = [partition_by_month(table="notifications_message", column="created_at")]

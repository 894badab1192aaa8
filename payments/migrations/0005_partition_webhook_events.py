from django.db import migrations

from core.pg_only import partition_by_month


class Migration(migrations.Migration):
    """PostgreSQL: the webhook inbox becomes monthly partitions of ``received_at`` (kept 24
    months by default, then detached by core/partitions.py). SQLite keeps the plain table."""

    dependencies = [("payments", "0004_webhook_event_keys")]

    operations = [partition_by_month(table="payments_webhookevent", column="received_at")]

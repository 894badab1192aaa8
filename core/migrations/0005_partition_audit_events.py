from django.db import migrations

from core.pg_only import partition_by_month, postgres_sql

# Rebuilding the table drops the append-only trigger of 0002 with the old table. Created on
# the partitioned table (PostgreSQL 13+), a row trigger is cloned to every partition, those
# made later by core/partitions.py included, so the trail stays unchangeable in the
# database. (A detached partition loses the clone; core/partitions.py gives the archived
# table a trigger of its own.)
TRIGGER = (
    "CREATE TRIGGER portal_auditevent_append_only BEFORE UPDATE OR DELETE ON portal_auditevent "
    "FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()"
)


class Migration(migrations.Migration):
    """PostgreSQL: the audit trail becomes monthly partitions of ``created_at`` (kept 84
    months by default, then detached, never dropped). SQLite keeps the plain table."""

    dependencies = [("portal", "0004_audit_action_prefix_postgres")]

    operations = [
        # Undone last when migrating back: the plain table gets its trigger again.
        postgres_sql([], [TRIGGER]),
        partition_by_month(table="portal_auditevent", column="created_at"),
        postgres_sql([TRIGGER], []),
    ]

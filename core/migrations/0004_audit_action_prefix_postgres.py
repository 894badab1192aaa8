from django.db import migrations

from core.pg_only import postgres_sql


class Migration(migrations.Migration):
    """The audit list's "action starts with" filter (``UPPER(action) LIKE 'X%'``), PostgreSQL
    only."""

    dependencies = [("portal", "0003_list_indexes")]

    operations = [
        postgres_sql(
            [
                "CREATE INDEX IF NOT EXISTS audit_action_upper_prefix "
                "ON portal_auditevent (UPPER(action) text_pattern_ops)"
            ],
            ["DROP INDEX IF EXISTS audit_action_upper_prefix"],
        ),
    ]

from django.db import migrations

from core.pg_only import postgres_sql, trigram_extension


class Migration(migrations.Migration):
    """Applicant-name search, PostgreSQL only: the officer queue's ``istartswith``
    (``UPPER(applicant_name) LIKE 'X%'``) and the collections worklist's ``icontains``
    (``UPPER(applicant_name) LIKE '%X%'``, trigram)."""

    dependencies = [("loans", "0005_list_indexes")]

    operations = [
        trigram_extension(),
        postgres_sql(
            [
                "CREATE INDEX IF NOT EXISTS app_name_upper_prefix "
                "ON loans_application (UPPER(applicant_name) text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS app_name_upper_trgm "
                "ON loans_application USING gin (UPPER(applicant_name) gin_trgm_ops)",
            ],
            [
                "DROP INDEX IF EXISTS app_name_upper_prefix",
                "DROP INDEX IF EXISTS app_name_upper_trgm",
            ],
        ),
    ]

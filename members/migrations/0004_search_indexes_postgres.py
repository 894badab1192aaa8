from django.db import migrations

from core.pg_only import postgres_sql


class Migration(migrations.Migration):
    """Indexes for the staff member search (members.selectors.search_members), PostgreSQL only:
    ``full_name``/``state_code``/e-mail ``istartswith`` compile to ``UPPER(col) LIKE 'X%'``,
    served by ``UPPER(col) text_pattern_ops``; the end of a phone number is searched as a
    prefix of ``REVERSE(phone)``."""

    dependencies = [("members", "0003_list_indexes")]

    operations = [
        postgres_sql(
            [
                "CREATE INDEX IF NOT EXISTS member_name_upper_prefix "
                "ON members_member (UPPER(full_name) text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS member_state_code_upper_prefix "
                "ON members_member (UPPER(state_code) text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS member_phone_reversed_prefix "
                "ON members_member (REVERSE(phone) text_pattern_ops)",
                "CREATE INDEX IF NOT EXISTS user_email_upper_prefix "
                "ON members_user (UPPER(email) text_pattern_ops)",
            ],
            [
                "DROP INDEX IF EXISTS member_name_upper_prefix",
                "DROP INDEX IF EXISTS member_state_code_upper_prefix",
                "DROP INDEX IF EXISTS member_phone_reversed_prefix",
                "DROP INDEX IF EXISTS user_email_upper_prefix",
            ],
        ),
    ]

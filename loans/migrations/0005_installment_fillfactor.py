from django.db import migrations

# Installments are updated in place every day (late fees) and on every payment (paid amounts,
# status). Leaving 10 % of each page free lets PostgreSQL keep most of those updates on the
# same page without touching the indexes (HOT updates). Other databases ignore this.
SET_FILLFACTOR = "ALTER TABLE loans_installment SET (fillfactor = 90)"
RESET_FILLFACTOR = "ALTER TABLE loans_installment RESET (fillfactor)"


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SET_FILLFACTOR, params=None)


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESET_FILLFACTOR, params=None)


class Migration(migrations.Migration):
    dependencies = [("loans", "0004_backfill_late_fee_rule")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]

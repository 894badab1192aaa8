from django.db import migrations

# PostgreSQL checks every journal entry's balance at commit (a deferred constraint trigger),
# so no code path — not even a bug or a manual SQL session — can leave money unbalanced.
BALANCE_TRIGGER = """
CREATE OR REPLACE FUNCTION payments_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    entry bigint;
    total bigint;
BEGIN
    entry := COALESCE(NEW.entry_id, OLD.entry_id);
    SELECT COALESCE(SUM(amount), 0) INTO total FROM payments_posting WHERE entry_id = entry;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance (off by % kobo)', entry, total;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER payments_posting_balanced
    AFTER INSERT OR UPDATE OR DELETE ON payments_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_check_entry_balanced();
"""
DROP_TRIGGER = """
DROP TRIGGER IF EXISTS payments_posting_balanced ON payments_posting;
DROP FUNCTION IF EXISTS payments_check_entry_balanced();
"""


def create_chart(apps, schema_editor):
    from ledger.chart import CHART

    Account = apps.get_model("payments", "Account")
    for code, name, kind in CHART:
        Account.objects.update_or_create(code=code, defaults={"name": name, "type": kind})


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BALANCE_TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER)


def sync_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("loans", "0002_roles")]

    operations = [
        migrations.RunPython(create_chart, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]

from django.db import migrations, models

INDEX = models.Index(fields=["-created_at", "-id"], name="loan_created")


def create(apps, schema_editor):
    model = apps.get_model("loans", "Loan")
    if schema_editor.connection.vendor == "postgresql":
        # Built without locking writes to a live loan book (needs a non-atomic migration).
        schema_editor.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS "loan_created" '
            'ON "loans_loan" ("created_at" DESC, "id" DESC)'
        )
    else:
        schema_editor.add_index(model, INDEX)


def drop(apps, schema_editor):
    model = apps.get_model("loans", "Loan")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('DROP INDEX CONCURRENTLY IF EXISTS "loan_created"')
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("loans", "0007_merge_fillfactor_and_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="loan", index=INDEX)],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        ),
    ]

"""The ledger's models move to the ledger app. Their tables stay (``payments_account``,
``payments_journalentry``, ``payments_posting``): only Django's state changes here, and the
content types move with them so permissions (``view_ledger``) and the groups holding them keep
working, now as ``ledger.*``. ``ledger.0001_initial`` adds the models to the ledger's state."""

from django.db import migrations

MOVED = ("account", "journalentry", "posting")


def move_content_types(apps, schema_editor, source="payments", target="ledger"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for model in MOVED:
        old = ContentType.objects.using(db).filter(app_label=source, model=model).first()
        if old is None:
            continue  # a fresh database: created under the new label after migrate
        stale = ContentType.objects.using(db).filter(app_label=target, model=model).first()
        if stale is not None:
            # Created early (e.g. by a post_migrate): keep the old rows, which groups hold.
            Permission.objects.using(db).filter(content_type=stale).delete()
            stale.delete()
        old.app_label = target
        old.save(update_fields=["app_label"])
    # Django caches content types per process.
    from django.contrib.contenttypes.models import ContentType as LiveContentType

    LiveContentType.objects.clear_cache()


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="ledger", target="payments")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_move_simulatedproviderrecord_to_simulator"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Posting"),
                migrations.DeleteModel(name="JournalEntry"),
                migrations.DeleteModel(name="Account"),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

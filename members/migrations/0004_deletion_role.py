from django.db import migrations


def sync_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_deletion_request")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

from django.db import migrations


def sync_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    # Administrators may read the message log (notifications.view_message).
    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("members", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

from django.db import migrations


def create_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0001_initial"),
        ("portal", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]

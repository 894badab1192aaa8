from django.db import migrations


def sync_roles(apps, schema_editor):
    # Finance gains payments.approve_refund (members/roles.py).
    from members.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("payments", "0012_refunds_and_suspense"), ("members", "0002_roles")]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

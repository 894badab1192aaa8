from django.db import migrations


def sync_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    # Loan officers and Finance may waive charges (servicing.waive_charges).
    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("servicing", "0001_waivers"),
        ("members", "0002_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]

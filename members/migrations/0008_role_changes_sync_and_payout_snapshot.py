from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    from members.roles import remove_role_permissions, sync_role_permissions

    sync_role_permissions(apps, schema_editor)
    remove_role_permissions(apps, schema_editor)
    # Confirmations made before payouts were bound to an account are bound to the account
    # the member holds now (the closest truth we have; the audit trail keeps the history).
    Member = apps.get_model("members", "Member")
    Member.objects.filter(account_name_confirmed=True, confirmed_account_number="").update(
        confirmed_bank_code=F("bank_code"), confirmed_account_number=F("account_number")
    )


class Migration(migrations.Migration):
    dependencies = [("members", "0007_staff_identity_role_changes_payout_snapshot")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

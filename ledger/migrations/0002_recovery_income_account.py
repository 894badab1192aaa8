from django.db import migrations


def add_account(apps, schema_editor):
    # Money received on a loan after it was written off is income of its own (recoveries),
    # never a receivable again: the loan's receivables left the books with the write-off.
    Account = apps.get_model("ledger", "Account")
    Account.objects.update_or_create(
        code="4300", defaults={"name": "Recoveries on written-off loans", "type": "income"}
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial"), ("payments", "0011_payment_channel_credit_and_intent")]

    operations = [migrations.RunPython(add_account, migrations.RunPython.noop)]

"""Waivers (servicing): the expense account of fees and late fees forgiven, and the entry kind."""

from django.db import migrations, models

# Literal, not read from ledger.chart: a migration keeps meaning what it meant when written.
CHARGES_WAIVED = ("5100", "Fees and charges waived", "expense")


def create_account(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    code, name, kind = CHARGES_WAIVED
    Account.objects.update_or_create(code=code, defaults={"name": name, "type": kind})


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_recovery_income_account")]

    operations = [
        migrations.AlterField(
            model_name="journalentry",
            name="kind",
            field=models.CharField(
                choices=[
                    ("disbursement", "Disbursement"),
                    ("repayment", "Repayment"),
                    ("reversal", "Reversal"),
                    ("late_fee", "Late fee"),
                    ("interest", "Interest recognised"),
                    ("write_off", "Write-off"),
                    ("waiver", "Waiver"),
                    ("credit", "Member credit applied"),
                    ("refund", "Refund"),
                    ("adjustment", "Adjustment"),
                ],
                max_length=20,
            ),
        ),
        # Deleting the account on the way back would fail on any posting that uses it.
        migrations.RunPython(create_account, migrations.RunPython.noop),
    ]

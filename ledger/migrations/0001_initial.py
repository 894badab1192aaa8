"""The ledger's models, moved from payments with their tables (state only: the tables, their
indexes, constraint and PostgreSQL balance trigger are unchanged; see
payments.0009_ledger_models_move_out)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def sync_roles(apps, schema_editor):
    from members.roles import sync_role_permissions

    sync_role_permissions(apps, schema_editor)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("payments", "0009_ledger_models_move_out"),
        ("loans", "0008_loan_created_index"),
        ("members", "0008_role_changes_sync_and_payout_snapshot"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=10, unique=True)),
                ("name", models.CharField(max_length=100)),
                ("type", models.CharField(choices=[("asset", "Asset"), ("liability", "Liability"), ("income", "Income"), ("expense", "Expense"), ("equity", "Equity")], max_length=10)),
            ],
            options={"db_table": "payments_account", "ordering": ["code"]},
        ),
        migrations.CreateModel(
            name="JournalEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("effective_date", models.DateField()),
                ("kind", models.CharField(choices=[("disbursement", "Disbursement"), ("repayment", "Repayment"), ("reversal", "Reversal"), ("late_fee", "Late fee"), ("interest", "Interest recognised"), ("write_off", "Write-off"), ("credit", "Member credit applied"), ("refund", "Refund"), ("adjustment", "Adjustment")], max_length=20)),
                ("memo", models.CharField(blank=True, max_length=200)),
                ("idempotency_key", models.CharField(blank=True, max_length=120, null=True, unique=True)),
                ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("loan", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="journal_entries", to="loans.loan")),
                ("payment", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="journal_entries", to="payments.payment")),
                ("reverses", models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="reversed_by", to="ledger.journalentry")),
            ],
            options={
                "db_table": "payments_journalentry",
                "verbose_name_plural": "journal entries",
                "ordering": ["-created_at", "-id"],
                "permissions": [("view_ledger", "Can view the ledger and trial balance")],
                "indexes": [
                    models.Index(fields=["loan", "created_at"], name="entry_loan"),
                    models.Index(fields=["kind", "effective_date"], name="entry_kind_date"),
                    models.Index(fields=["effective_date"], name="entry_date"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Posting",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.BigIntegerField(help_text="Kobo; debit positive, credit negative.")),
                ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="postings", to="ledger.account")),
                ("entry", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="postings", to="ledger.journalentry")),
                ("loan", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="postings", to="loans.loan")),
                ("member", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="postings", to="members.member")),
            ],
            options={
                "db_table": "payments_posting",
                "ordering": ["entry", "id"],
                "constraints": [models.CheckConstraint(condition=~models.Q(amount=0), name="posting_not_zero")],
                "indexes": [
                    models.Index(fields=["loan", "account"], name="posting_loan_account"),
                    models.Index(fields=["member", "account"], name="posting_member_account"),
                    models.Index(fields=["account"], name="posting_account"),
                ],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
        # The groups' "ledger.view_ledger" (renamed from payments.view_ledger).
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]

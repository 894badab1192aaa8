from datetime import timedelta
from decimal import Decimal

from django.db import migrations


def backfill(apps, schema_editor):
    """Loans made before the overdue run get the late-fee rule from their key facts and the
    approving officer from their last approval (the rule code is copied here on purpose:
    migrations must not change when loans.services does)."""
    Loan = apps.get_model("loans", "Loan")
    Installment = apps.get_model("loans", "Installment")
    Approval = apps.get_model("loans", "Approval")
    for loan in Loan.objects.select_related("application__product").iterator():
        terms = loan.application.key_facts.get("terms", {})
        product = loan.application.product
        rate = Decimal(str(terms.get("late_fee_percent_per_day", product.late_fee_percent_per_day)))
        cap = Decimal(str(terms.get("late_fee_cap_percent", product.late_fee_cap_percent)))
        grace = int(terms.get("grace_days", product.grace_days))
        installments = list(Installment.objects.filter(loan=loan))
        for inst in installments:
            inst.late_fee_from = inst.due_date + timedelta(days=grace + 1)
            inst.late_fee_daily_ppm = int(rate * 1_000_000)
            inst.late_fee_cap = int(Decimal(inst.principal + inst.interest + inst.fee) * cap)
        Installment.objects.bulk_update(
            installments, ["late_fee_from", "late_fee_daily_ppm", "late_fee_cap"]
        )
        last = Approval.objects.filter(application_id=loan.application_id).order_by("-id").first()
        if last is not None:
            Loan.objects.filter(pk=loan.pk).update(officer_id=last.officer_id)


class Migration(migrations.Migration):
    dependencies = [("loans", "0003_late_fee_rule_and_arrears")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]

from django.contrib import admin

from arrears.models import (
    AllowanceDelay,
    CollectionContact,
    LateFeeCharge,
    OverdueRun,
    PortfolioSnapshot,
    WriteOff,
)
from core.admin import ReadOnlyAdmin


@admin.register(OverdueRun)
class OverdueRunAdmin(ReadOnlyAdmin):
    list_display = (
        "run_date",
        "installments_marked_overdue",
        "fees_charged",
        "fees_total",
        "fees_paused",
        "finished_at",
    )
    date_hierarchy = "run_date"


@admin.register(LateFeeCharge)
class LateFeeChargeAdmin(ReadOnlyAdmin):
    list_display = ("charge_date", "loan", "installment", "amount")
    raw_id_fields = ("loan", "installment")


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("snapshot_date", "bucket", "loans", "outstanding_principal")
    list_filter = ("bucket",)


@admin.register(AllowanceDelay)
class AllowanceDelayAdmin(ReadOnlyAdmin):
    list_display = ("starts_on", "ends_on", "reason", "created_by", "cancelled_at")


@admin.register(CollectionContact)
class CollectionContactAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "loan",
        "channel",
        "outcome",
        "promise_date",
        "staff",
        "outside_permitted_hours",
    )
    list_filter = ("channel", "outcome", "outside_permitted_hours")
    raw_id_fields = ("loan",)


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdmin):
    list_display = ("loan", "status", "amount", "requested_by", "decided_by", "decided_at")
    list_filter = ("status",)
    raw_id_fields = ("loan",)

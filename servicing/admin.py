from django.contrib import admin

from core.admin import ReadOnlyAdmin
from servicing.models import Restructure, RestructureHistory, Waiver


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    """Waivers are written only by ``servicing.services.waivers``."""

    list_display = (
        "created_at",
        "loan",
        "component",
        "amount",
        "status",
        "requested_by",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "component")
    list_select_related = ("loan", "requested_by", "decided_by")
    raw_id_fields = ("loan", "journal_entry")


@admin.register(Restructure)
class RestructureAdmin(ReadOnlyAdmin):
    """Restructures are written only by ``servicing.services.restructure``."""

    list_display = ("created_at", "loan", "status", "new_installments", "holiday_months")
    list_filter = ("status", "arrears_treatment")
    list_select_related = ("loan",)
    raw_id_fields = ("loan", "journal_entry", "proposed_by", "decided_by")


@admin.register(RestructureHistory)
class RestructureHistoryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "restructure", "from_status", "to_status", "actor")
    raw_id_fields = ("restructure", "actor")

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from servicing.models import Waiver


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

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from notifications.models import Message


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The message log is a record of what members were sent: read-only."""

    list_display = (
        "created_at",
        "member",
        "kind",
        "channel",
        "status",
        "attempts",
        "scheduled_for",
        "sent_at",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("=dedupe_key", "=member__id")
    list_select_related = ("member",)
    raw_id_fields = ("member", "installment")
    ordering = ("-created_at", "-id")

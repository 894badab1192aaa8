from django.contrib import admin

from core.models import AuditEvent, FormSubmission


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records the product writes and nobody edits (audit trail, message log, ledger-side
    facts): the admin shows them, never adds, changes or deletes."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the audit trail is never edited through the product."""

    list_display = ("created_at", "actor", "action", "object_type", "object_id", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("=object_id", "action", "=request_id")
    list_select_related = ("actor",)
    date_hierarchy = None


@admin.register(FormSubmission)
class FormSubmissionAdmin(ReadOnlyAdmin):
    """One-time tokens of money forms (purged after a month)."""

    list_display = ("created_at", "user", "path", "result_url")
    list_select_related = ("user",)
    search_fields = ("=token",)

from django.contrib import admin, messages

from core.errors import DomainError
from members.models import DeletionRequest
from privacy.deletion import approve_deletion, reject_deletion


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    """Administrators approve or reject members' deletion requests (actions below); the
    rows themselves are written only by privacy.deletion."""

    list_display = ("id", "member", "status", "requested_at", "decided_by", "anonymise_after")
    list_filter = ("status",)
    show_full_result_count = False
    actions = ["approve", "reject"]
    readonly_fields = [f.name for f in DeletionRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, decide, **kwargs):
        for deletion in queryset:
            try:
                decide(deletion=deletion, actor=request.user, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{deletion}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{deletion}: done.", messages.SUCCESS)

    @admin.action(
        description="Approve (anonymise after the retention period)", permissions=["approve"]
    )
    def approve(self, request, queryset):
        self._decide(request, queryset, approve_deletion)

    @admin.action(description="Reject (the member keeps the account)", permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(
            request, queryset, reject_deletion, note="Rejected by an administrator in the admin."
        )

    def has_approve_permission(self, request):
        return request.user.has_perm("members.approve_deletion")

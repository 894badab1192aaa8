from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from members.models import DeletionRequest, Member, MemberDocument, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "display_name")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")},
        ),
    )


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "state_code",
        "deployment_state",
        "kyc_status",
        "bvn_masked",
        "created_at",
    )
    list_filter = ("kyc_status", "deployment_state", "batch")
    search_fields = ("full_name", "state_code", "=phone", "=bvn_last4", "user__email")
    readonly_fields = (
        "user",
        "bvn_masked",
        "kyc_status",
        "kyc_reviewed_by",
        "kyc_reviewed_at",
        "created_at",
        "updated_at",
    )
    exclude = ("bvn_encrypted", "bvn_hash", "bvn_last4")
    list_select_related = ("user",)
    show_full_result_count = False
    ordering = ("-created_at", "-id")
    raw_id_fields = ()

    @admin.display(description="BVN")
    def bvn_masked(self, obj):
        return obj.bvn_masked


@admin.register(MemberDocument)
class MemberDocumentAdmin(admin.ModelAdmin):
    list_display = ("member", "kind", "content_type", "size", "uploaded_at")
    list_filter = ("kind", "content_type")
    search_fields = ("=member__id",)
    raw_id_fields = ("member", "uploaded_by")
    show_full_result_count = False
    readonly_fields = ("file", "sha256", "size", "content_type", "original_name")


@admin.register(DeletionRequest)
class DeletionRequestAdmin(admin.ModelAdmin):
    """Administrators approve or reject members' deletion requests (actions below); the
    rows themselves are written only by members.deletion."""

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
        from portal.errors import DomainError

        for deletion in queryset:
            try:
                decide(deletion=deletion, actor=request.user, request=request, **kwargs)
            except DomainError as exc:
                self.message_user(request, f"{deletion}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{deletion}: done.", messages.SUCCESS)

    @admin.action(
        description="Approve (anonymise after the retention period)", permissions=["approve"]
    )
    def approve(self, request, queryset):
        from members.deletion import approve_deletion

        self._decide(request, queryset, approve_deletion)

    @admin.action(description="Reject (the member keeps the account)", permissions=["approve"])
    def reject(self, request, queryset):
        from members.deletion import reject_deletion

        self._decide(
            request, queryset, reject_deletion, note="Rejected by an administrator in the admin."
        )

    def has_approve_permission(self, request):
        return request.user.has_perm("members.approve_deletion")

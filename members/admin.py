from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from members.models import Member, MemberDocument, User


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

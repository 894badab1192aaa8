from django.contrib import admin

from core.audit import record
from loans.models import (
    Application,
    ApplicationHistory,
    ApplicationNote,
    Approval,
    Installment,
    Loan,
    LoanProduct,
)


@admin.register(LoanProduct)
class LoanProductAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "interest_method",
        "monthly_rate",
        "min_principal",
        "max_principal",
        "tenures",
        "updated_at",
    )
    list_filter = ("is_active", "interest_method", "fee_treatment")
    search_fields = ("name",)
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record(
            actor=request.user,
            action="product.changed" if change else "product.created",
            obj=obj,
            changes={f: str(form.cleaned_data.get(f)) for f in form.changed_data},
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Business records change only through services (history + audit), never here."""

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HistoryInline(admin.TabularInline):
    model = ApplicationHistory
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "actor", "from_status", "to_status", "reason")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "applicant_name",
        "product",
        "amount",
        "tenure_months",
        "status",
        "recommendation",
        "is_flagged",
        "created_at",
    )
    list_filter = ("status", "recommendation", "is_flagged", "product")
    search_fields = ("=reference", "applicant_name")
    list_select_related = ("product",)
    ordering = ("-created_at", "-id")
    raw_id_fields = ("member",)
    inlines = [HistoryInline]


@admin.register(ApplicationNote)
class ApplicationNoteAdmin(ReadOnlyAdmin):
    list_display = ("application", "author", "created_at", "visible_to_member")
    raw_id_fields = ("application",)


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ("application", "officer", "amount", "tenure_months", "created_at")
    raw_id_fields = ("application",)


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "member",
        "principal",
        "total_repayable",
        "status",
        "disbursed_on",
        "created_at",
    )
    list_filter = ("status", "product")
    search_fields = ("=reference",)
    list_select_related = ("member", "product")
    ordering = ("-created_at", "-id")
    raw_id_fields = ("member", "application")


@admin.register(Installment)
class InstallmentAdmin(ReadOnlyAdmin):
    list_display = (
        "loan",
        "number",
        "due_date",
        "principal",
        "interest",
        "fee",
        "late_fee",
        "status",
    )
    list_filter = ("status",)
    search_fields = ("=loan__reference",)
    raw_id_fields = ("loan",)
    ordering = ("-due_date", "-id")

from django.contrib import admin

from reports.models import DailyReport


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    list_display = ("report_date", "generated_at", "emailed_at")
    date_hierarchy = "report_date"
    ordering = ("-report_date",)
    show_full_result_count = False
    readonly_fields = ("report_date", "figures", "generated_at", "emailed_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

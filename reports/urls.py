from django.urls import path, register_converter

from reports import views


class IsoDayConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


register_converter(IsoDayConverter, "isoday")

app_name = "reports"

urlpatterns = [
    path("backoffice/reports/", views.ReportListView.as_view(), name="list"),
    path("backoffice/reports/export/", views.export_range, name="export"),
    path(
        "backoffice/reports/<isoday:day>.csv",
        views.download_report,
        {"fmt": "csv"},
        name="download_csv",
    ),
    path(
        "backoffice/reports/<isoday:day>.xlsx",
        views.download_report,
        {"fmt": "xlsx"},
        name="download_xlsx",
    ),
]

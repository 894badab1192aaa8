"""The stored daily report: one row per Lagos day, its figures as JSON in integer kobo."""

from django.db import models


class DailyReport(models.Model):
    """Figures for one Lagos day. Regenerating a day replaces its figures (unique date).

    The default ``view_dailyreport`` permission gates the reports pages, downloads and the
    portfolio figures of the back-office dashboard (members.roles gives it to Finance and
    Administrators).
    """

    report_date = models.DateField(unique=True)
    figures = models.JSONField(help_text="Counts and kobo amounts (integers), see services.")
    generated_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-report_date"]

    def __str__(self):
        return f"Daily report {self.report_date:%Y-%m-%d}"

from django.db import models


class SimulatedProviderRecord(models.Model):
    """State of the simulated payments provider (development, tests, demo), kept in the
    database so the web process and the worker see the same 'provider'."""

    kind = models.CharField(max_length=12)  # "transfer" or "charge"
    reference = models.CharField(max_length=80, unique=True)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12)  # pending, success, failed
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Moved from payments: the table keeps its name and rows.
        db_table = "payments_simulatedproviderrecord"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} {self.reference}"

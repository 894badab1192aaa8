from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One row per state change, money movement, permission-gated view or setting change.

    Append-only: the model refuses updates and deletes; on PostgreSQL a trigger refuses them
    in the database too, so nobody can edit the trail through the product.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_created"),
            models.Index(fields=["object_type", "object_id", "-created_at"], name="audit_object"),
            # Ordered by time within an object id: on monthly partitions the newest page is a
            # merge of each month's index in order, not a sort of every match.
            models.Index(fields=["object_id", "-created_at", "-id"], name="audit_object_id"),
            models.Index(fields=["actor", "-created_at", "-id"], name="audit_actor"),
            models.Index(fields=["action", "-created_at", "-id"], name="audit_action"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only")


class FormSubmission(models.Model):
    """A money form's one-time token, consumed by its first submit (issue 15, M5).

    The row is written in the same transaction as the business change; the unique
    constraint makes a second submit of the same rendered form (double click, browser
    retry, back-and-resubmit) wait for the first and then fail, in every process, so it
    can only show the first result."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    path = models.CharField(max_length=200)
    result_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "token"], name="form_submission_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="form_submission_created")]

    def __str__(self):
        return f"{self.path} by {self.user_id}"


class OutgoingMail(models.Model):
    """An e-mail written during a request (sign-up, sign-in, password reset), sent later by
    the worker: a mail server that is down or slow never breaks or holds up the page.

    The message (addresses, links with one-time keys) is stored encrypted with the PII key and
    erased once sent; what stays is when, how often it was tried, and what kind it was."""

    created_at = models.DateTimeField(auto_now_add=True)
    purpose = models.CharField(max_length=80)
    payload = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=80, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outgoing_mail_due",
                condition=models.Q(sent_at__isnull=True, gave_up_at__isnull=True),
            )
        ]

    def __str__(self):
        state = "sent" if self.sent_at else "gave up" if self.gave_up_at else "waiting"
        return f"{self.purpose} ({state}, {self.attempts} attempts)"

import django_tables2 as tables
from django.urls import reverse

from core.table_render import LocalDateTimeColumn
from notifications.models import Message


class MemberMessageTable(tables.Table):
    created_at = LocalDateTimeColumn(
        format="d M Y H:i", verbose_name="Date", order_by=("created_at", "id")
    )
    subject = tables.Column(
        verbose_name="Message",
        orderable=False,
        linkify=lambda record: reverse("notifications:message_detail", args=[record.pk]),
    )
    channel = tables.Column(orderable=False)
    status = tables.Column(orderable=False)

    class Meta:
        model = Message
        fields = ("created_at", "subject", "channel", "status")
        order_by = ("-created_at",)
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = "No messages yet."

"""Reads of the message log, scoped to who asks."""

from notifications.models import Message


def messages_of(member):
    """A member's own messages, newest first (index message_member_created)."""
    return Message.objects.filter(member=member).order_by("-created_at", "-id")

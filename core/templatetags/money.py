"""``{{ amount|naira }}`` renders integer kobo as ``₦150,000.00`` (a builtin in settings)."""

from django import template

from core.money import format_naira

register = template.Library()


@register.filter
def naira(kobo):
    return format_naira(kobo)

"""``{% status_badge obj %}``: an object's status as a Bootstrap badge, its label from the
model's choices and its colour from the model's ``STATUS_BADGES`` (secondary by default),
so templates do not compare statuses to pick a colour."""

from django import template
from django.utils.html import format_html

register = template.Library()

DEFAULT_BADGE = "bg-secondary"


@register.simple_tag
def status_badge(obj, field: str = "status", testid: str = ""):
    value = getattr(obj, field)
    label = getattr(obj, f"get_{field}_display")()
    css = getattr(obj, "STATUS_BADGES", {}).get(value, DEFAULT_BADGE)
    if testid:
        return format_html('<span class="badge {}" data-testid="{}">{}</span>', css, testid, label)
    return format_html('<span class="badge {}">{}</span>', css, label)

from django import template

from core.table_render import render_rows

register = template.Library()


@register.simple_tag
def table_rows(table):
    """The rows of a django-tables2 table without a template node per cell (see
    core/table_render.py)."""
    return render_rows(table)

from django import template

from core.form_tokens import hidden_input

register = template.Library()


@register.simple_tag
def form_token():
    """A one-time token for a money form; see ``core.form_tokens``."""
    return hidden_input()

from django import template

from portal.form_tokens import hidden_input

register = template.Library()


@register.simple_tag
def form_token():
    """A one-time token for a money form; see ``portal.form_tokens``."""
    return hidden_input()

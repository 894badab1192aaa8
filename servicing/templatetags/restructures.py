"""The offer of new terms waiting on a loan, for the loan pages:
``{% open_offer loan as offer %}``."""

from django import template

from servicing.selectors import open_restructure

register = template.Library()


@register.simple_tag
def open_offer(loan):
    return open_restructure(loan)

"""Template filters that ask ``payments.rules`` so templates never compare statuses."""

from django import template

from payments import rules

register = template.Library()

register.filter("is_reversible", rules.is_reversible)
register.filter("line_is_open", rules.line_is_open)

"""Template filters for the final key facts (the figures fixed at payout), so the payout
e-mail and the loan page ask ``loans.key_facts`` instead of comparing figures themselves."""

from django import template

from loans import key_facts

register = template.Library()

register.filter("payout_moved_figures", key_facts.payout_moved_figures)
register.filter("shows_final_key_facts", key_facts.shows_final_key_facts)


@register.filter
def consented_key_facts(loan) -> dict:
    """The key facts statement the member consented to (figures before payout)."""
    return loan.application.key_facts


@register.filter
def total_cost_of_credit(loan) -> int:
    """What the loan costs: what is repaid less what reached the member's account."""
    return loan.total_repayable - loan.disbursed_amount

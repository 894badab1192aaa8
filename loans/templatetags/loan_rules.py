"""Template filters that ask ``loans.rules`` ("needs a second approval?", "can this member
pay?") so templates never compare statuses or restate a rule."""

from django import template

from loans import rules

register = template.Library()

register.filter("needs_second_approval", rules.needs_second_approval)
register.filter("awaits_decision", rules.awaits_decision)
register.filter("is_being_assessed", rules.is_being_assessed)
register.filter("may_be_submitted", rules.may_be_submitted)
register.filter("is_rejected", rules.is_rejected)
register.filter("asks_member_for_information", rules.asks_member_for_information)
register.filter("history_reason_shown", rules.history_reason_shown)
register.filter("awaits_payout", rules.awaits_payout)
register.filter("is_repaid", rules.is_repaid)
register.filter("is_written_off", rules.is_written_off)
register.filter("is_discharged", rules.is_discharged)
register.filter("is_active", rules.is_active)
register.filter("can_pay", rules.can_pay)

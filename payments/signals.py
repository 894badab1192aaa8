"""What the money side tells the apps above it, sent after the change commits
(``core.signals.send_after_commit``). Notifications subscribe; payments never imports them."""

from django.dispatch import Signal

# loan_id: int, template: str ("loan_disbursed")
loan_event = Signal()
# payment_id: int (a repayment was received)
payment_received = Signal()

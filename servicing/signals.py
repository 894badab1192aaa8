"""What servicing tells the apps above it, sent after the change commits
(``core.signals.send_after_commit``). Notifications subscribe; servicing never imports them."""

from django.dispatch import Signal

# waiver_id: int (late fees, fees or interest were waived on a member's loan)
waiver_applied = Signal()

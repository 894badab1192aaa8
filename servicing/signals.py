"""What servicing tells the apps above it, sent after the change commits
(``core.signals.send_after_commit``). Notifications subscribe; servicing never imports them."""

from django.dispatch import Signal

# waiver_id: int (late fees, fees or interest were waived on a member's loan)
waiver_applied = Signal()
# restructure_id: int (an officer offered the member new terms to consent to)
restructure_proposed = Signal()
# restructure_id: int (the new terms were approved: the new schedule is in force)
restructure_approved = Signal()

"""What the loan side tells the apps above it, sent after the change commits
(``core.signals.send_after_commit``). Notifications subscribe; loans never imports them."""

from django.dispatch import Signal

# application_id: int, template: str (the member message: "application_received", ...)
application_event = Signal()

"""Member events other apps react to (sent after commit with ``core.signals.send_after_commit``).

``kyc_decided(member_id, decision)``: an officer verified or rejected a profile; notifications
tells the member.
"""

from django.dispatch import Signal

kyc_decided = Signal()

"""The simulated SMS provider (``SMS_PROVIDERS["simulated"]``): development and tests, nothing
leaves the machine. What it "sent" is kept in ``outbox``, newest last (like
``django.core.mail.outbox``)."""

import logging
from dataclasses import dataclass

from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulatedSms:
    to: str
    text: str
    reference: str


outbox: list[SimulatedSms] = []


class SimulatedSmsProvider:
    """Development and tests: nothing leaves the machine."""

    name = "simulated"

    def send(self, *, to: str, text: str) -> str:
        reference = f"sim-{get_random_string(16)}"
        outbox.append(SimulatedSms(to=to, text=text, reference=reference))
        logger.info("simulated sms sent", extra={"event": "sms.simulated", "reference": reference})
        return reference

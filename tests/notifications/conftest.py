from datetime import datetime

import pytest

from core.clock import LAGOS
from simulator import sms as simulated_sms


def lagos(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=LAGOS)


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    simulated_sms.outbox.clear()
    yield
    simulated_sms.outbox.clear()


def borrower(**kwargs):
    """A verified member who can borrow for a few months from 2026."""
    from datetime import date

    from tests.factories import MemberFactory

    kwargs.setdefault("passing_out", date(2027, 12, 1))
    kwargs.setdefault("monthly_allowance", 300_000_00)
    return MemberFactory(**kwargs)

"""A refund is sent as a transfer, so its transfer.success / transfer.failed webhooks arrive like
a disbursement's. They are routed to the refund (reference matched case-insensitively: Paystack
lower-cases transfer references), the provider is asked for the truth (never the body), and the
result goes through refund_transfer's complete / fail, once."""

import json

import pytest

from ledger import chart
from ledger.models import JournalEntry
from ledger.selectors import member_credit
from payments.models import Refund, RefundEvent, RefundStatus, WebhookEvent, WebhookStatus
from payments.providers import get_provider
from payments.services.refund_transfer import send_refund
from payments.services.refunds import approve_refund, available_credit, request_credit_refund
from payments.services.webhooks import process_webhook
from simulator import delivery
from tests.factories import make_finance
from tests.payments.test_refunds import CREDIT, books_are_sound, loan_with_credit, refund_entry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _captured_webhooks(settings):
    """Transfers stay pending until the test settles them; their webhooks are captured, and
    the test delivers them to our endpoint itself."""
    settings.SIMULATED_TRANSFER_OUTCOME = "pending"
    settings.SIMULATED_WEBHOOK_DELIVERY = "capture"
    delivery.CAPTURED_WEBHOOKS.clear()
    yield
    delivery.CAPTURED_WEBHOOKS.clear()


def sent_refund(amount=CREDIT) -> Refund:
    """Member credit of ₦5,000 asked back, approved by finance and handed to the provider,
    which has not finished the transfer yet."""
    loan = loan_with_credit()
    member = loan.member
    refund = request_credit_refund(member=member, actor=member.user, amount=amount)
    approve_refund(refund=refund, actor=make_finance())
    refund = send_refund(refund_id=refund.pk)
    assert refund.status == RefundStatus.SENT
    assert delivery.CAPTURED_WEBHOOKS == []  # pending: the provider has said nothing yet
    return refund


def provider_finishes(refund, outcome, reason="") -> dict:
    """The provider settles the transfer and sends its webhook: the event it sent."""
    get_provider("simulated").settle_transfer(
        reference=refund.reference, outcome=outcome, reason=reason
    )
    assert len(delivery.CAPTURED_WEBHOOKS) == 1
    return delivery.CAPTURED_WEBHOOKS.pop()["event"]


def deliver(client, event: dict) -> WebhookEvent:
    """POST the signed event to our webhook endpoint, then run the processing task."""
    body = json.dumps(event).encode()
    response = client.post(
        delivery.WEBHOOK_PATH,
        data=body,
        content_type="application/json",
        headers={delivery.SIGNATURE_HEADER: get_provider("simulated").sign(body)},
    )
    assert response.status_code == 200, response.content
    stored = WebhookEvent.objects.order_by("-received_at", "-pk").first()
    return process_webhook(event_id=stored.pk)


def with_reference(event: dict, reference: str) -> dict:
    return {**event, "data": {**event["data"], "reference": reference}}


def test_transfer_success_webhook_completes_the_refund_and_posts_it_once(client):
    refund = sent_refund()
    member = refund.member
    event = provider_finishes(refund, "success")
    # As Paystack sends it: our upper-case reference in lower case.
    event = with_reference(event, refund.reference.lower())

    processed = deliver(client, event)

    assert (processed.status, processed.note) == (WebhookStatus.PROCESSED, "refund succeeded")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.completed_at is not None
    assert refund_entry(refund) == {chart.MEMBER_CREDIT: CREDIT, chart.CASH_PROVIDER: -CREDIT}
    assert member_credit(member) == 0 == available_credit(member)
    books_are_sound(member)


def test_transfer_failed_webhook_fails_the_refund_and_frees_the_credit(client):
    refund = sent_refund()
    member = refund.member
    assert available_credit(member) == 0  # reserved for the transfer
    event = provider_finishes(refund, "failed", reason="Beneficiary account is dormant")

    processed = deliver(client, event)

    assert (processed.status, processed.note) == (WebhookStatus.PROCESSED, "refund failed")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert refund.failure_reason == "Beneficiary account is dormant"
    assert refund_entry(refund) is None
    assert member_credit(member) == CREDIT == available_credit(member)
    books_are_sound(member)


def test_transfer_webhook_for_an_unknown_reference_is_still_flagged(client):
    refund = sent_refund()
    event = provider_finishes(refund, "success")
    before = JournalEntry.objects.count()

    processed = deliver(client, with_reference(event, "RFD-NOBODY-KNOWS"))

    assert processed.status == WebhookStatus.FLAGGED
    assert processed.note == "No disbursement or refund with this reference."
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT
    assert JournalEntry.objects.count() == before


def test_replayed_refund_webhook_changes_nothing_the_second_time(client):
    refund = sent_refund()
    event = provider_finishes(refund, "success")
    first = deliver(client, event)
    assert first.status == WebhookStatus.PROCESSED

    again = deliver(client, event)  # the provider's retry: the same event id
    # Another copy under a new event id is verified again and finds the refund done.
    other = deliver(client, {**event, "data": {**event["data"], "transfer_code": "TRF_AGAIN"}})

    assert again.pk == first.pk and WebhookEvent.objects.count() == 2
    assert (other.status, other.note) == (WebhookStatus.PROCESSED, "refund succeeded")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert JournalEntry.objects.filter(idempotency_key=f"refund:{refund.pk}").count() == 1
    assert RefundEvent.objects.filter(refund=refund, to_status=RefundStatus.SUCCEEDED).count() == 1
    assert member_credit(refund.member) == 0
    books_are_sound(refund.member)


def test_a_body_saying_success_while_the_provider_says_pending_pays_nothing(client):
    refund = sent_refund()
    # A signed body that lies (a leaked secret, a test event from another environment).
    lie = {
        "event": "transfer.success",
        "data": {"id": 1, "reference": refund.reference, "amount": CREDIT, "status": "success"},
    }

    processed = deliver(client, lie)

    assert (processed.status, processed.note) == (WebhookStatus.PROCESSED, "refund sent")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SENT
    assert refund_entry(refund) is None
    assert member_credit(refund.member) == CREDIT


def test_a_body_saying_failed_while_the_provider_paid_completes_the_refund(client):
    refund = sent_refund()
    event = provider_finishes(refund, "success")
    lie = {"event": "transfer.failed", "data": {**event["data"], "status": "failed"}}

    processed = deliver(client, lie)

    assert (processed.status, processed.note) == (WebhookStatus.PROCESSED, "refund succeeded")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund_entry(refund) == {chart.MEMBER_CREDIT: CREDIT, chart.CASH_PROVIDER: -CREDIT}


def test_a_transfer_event_naming_a_refund_never_sent_is_flagged(client):
    loan = loan_with_credit()
    refund = request_credit_refund(member=loan.member, actor=loan.member.user, amount=CREDIT)
    event = {
        "event": "transfer.success",
        "data": {"id": 2, "reference": refund.reference, "amount": CREDIT, "status": "success"},
    }

    processed = deliver(client, event)

    assert processed.status == WebhookStatus.FLAGGED
    assert "no transfer was sent" in processed.note
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REQUESTED
    assert member_credit(loan.member) == CREDIT

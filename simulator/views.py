"""The simulated provider's pages (development and demo only): its webhook endpoint and its
hosted checkout page.

It stands in for Paystack's payment page: the member sees the amount and chooses "Pay" or
"Decline"; the simulated provider records the outcome, sends the signed ``charge.*`` webhook,
and the member is sent back to our callback URL with ``?reference=`` as Paystack does. No
money moves, so the page exists only while the simulated provider is in use or DEBUG is on.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from payments import views as payment_views
from payments.providers import get_provider
from payments.providers.base import ProviderRejected
from simulator.delivery import SIGNATURE_HEADER
from simulator.models import SimulatedProviderRecord
from simulator.records import CHARGE, FAILED, PENDING, SUCCESS

TEMPLATE = "simulator/checkout.html"


def simulated_checkout_enabled() -> bool:
    return settings.ALLOW_SIMULATED_PROVIDER and (
        settings.PAYMENTS_PROVIDER == "simulated" or settings.DEBUG
    )


@csrf_exempt
def simulated_webhook(request):
    """The simulated provider's webhooks land in the same inbox as Paystack's."""
    return payment_views._receive_webhook(request, "simulated", SIGNATURE_HEADER)


@never_cache
@require_http_methods(["GET", "POST"])
def simulated_checkout(request, reference):
    if not simulated_checkout_enabled():
        raise Http404("The simulated checkout is switched off.")
    record = get_object_or_404(SimulatedProviderRecord, kind=CHARGE, reference=reference)
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        if outcome not in (SUCCESS, FAILED):
            return render(
                request, TEMPLATE, _context(record, error="Choose Pay or Decline."), status=400
            )
        if record.status == PENDING:
            try:
                get_provider("simulated").complete_charge(reference=reference, outcome=outcome)
            except ProviderRejected:
                pass  # a second tab settled it first; its outcome stands
        return redirect(_return_url(request, record))
    return render(request, TEMPLATE, _context(record))


def _context(record, *, error=""):
    return {
        "record": record,
        "email": record.data.get("email", ""),
        "is_pending": record.status == PENDING,
        "error": error,
    }


def _return_url(request, record) -> str:
    """The callback URL stored at checkout, with the reference added as Paystack adds it
    (``trxref`` and ``reference``); only to our own site, never an open redirect."""
    url = record.data.get("callback_url") or "/"
    allowed_hosts = {request.get_host(), urlsplit(settings.SITE_URL).netloc}
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts=allowed_hosts, require_https=request.is_secure()
    ):
        url = "/"
    parts = urlsplit(url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in ("trxref", "reference")
    ]
    query += [("trxref", record.reference), ("reference", record.reference)]
    return urlunsplit(parts._replace(query=urlencode(query)))

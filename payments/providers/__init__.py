"""Choose the payments provider: ``get_provider()`` for new payouts and checkouts (the
``PAYMENTS_PROVIDER`` setting), ``get_provider(row.provider)`` for anything already started
with a provider, so a switch of setting never strands a transfer in flight.

One instance per name per process (the Paystack adapter keeps a connection pool). Tests that
change the provider settings get fresh instances automatically (``setting_changed``), or call
``reset_providers()``.
"""

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from payments.providers.base import PaymentsProvider
from payments.providers.manual import ManualProvider
from payments.providers.paystack import DEFAULT_BASE_URL, PaystackProvider
from payments.providers.simulated import SimulatedProvider

PROVIDER_NAMES = ("simulated", "paystack", "manual")

# Settings read when a provider is built; a change to any of them drops the cached instances.
_CONSTRUCTION_SETTINGS = frozenset(
    {
        "PAYMENTS_PROVIDER",
        "PAYSTACK_SECRET_KEY",
        "PAYSTACK_BASE_URL",
        "PAYSTACK_TIMEOUT_SECONDS",
        "SIMULATED_PROVIDER_SECRET",
    }
)

_providers: dict[str, PaymentsProvider] = {}
_lock = threading.Lock()


def get_provider(name: str | None = None) -> PaymentsProvider:
    name = name or settings.PAYMENTS_PROVIDER
    provider = _providers.get(name)
    if provider is None:
        with _lock:
            provider = _providers.get(name)
            if provider is None:
                provider = _providers[name] = _build(name)
    return provider


def reset_providers() -> None:
    with _lock:
        providers = list(_providers.values())
        _providers.clear()
    for provider in providers:
        close = getattr(provider, "close", None)
        if close is not None:
            close()


def _build(name: str) -> PaymentsProvider:
    if name == "simulated":
        return SimulatedProvider(secret=settings.SIMULATED_PROVIDER_SECRET)
    if name == "paystack":
        return PaystackProvider(
            secret_key=settings.PAYSTACK_SECRET_KEY,
            base_url=getattr(settings, "PAYSTACK_BASE_URL", DEFAULT_BASE_URL),
            timeout=getattr(settings, "PAYSTACK_TIMEOUT_SECONDS", 10),
        )
    if name == "manual":
        return ManualProvider()
    raise ImproperlyConfigured(
        f"Unknown payments provider {name!r}; PAYMENTS_PROVIDER must be one of "
        f"{', '.join(PROVIDER_NAMES)}."
    )


def _reset_on_setting_changed(*, setting, **kwargs):
    if setting in _CONSTRUCTION_SETTINGS:
        reset_providers()


setting_changed.connect(_reset_on_setting_changed, dispatch_uid="payments.providers.reset")

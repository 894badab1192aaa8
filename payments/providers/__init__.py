"""Choose the payments provider: ``get_provider()`` for new payouts and checkouts (the
``PAYMENTS_PROVIDER`` setting), ``get_provider(row.provider)`` for anything already started
with a provider, so a switch of setting never strands a transfer in flight.

Providers come from the one registry (``core.providers``): ``PAYMENTS_PROVIDERS`` maps each
name to a factory (the simulated one only where the ``simulator`` app is installed). One
instance per name per process (the Paystack adapter keeps a connection pool). Tests that
change the provider settings get fresh instances automatically (``setting_changed``), or call
``reset_providers()``.
"""

from django.conf import settings

from core.providers import ProviderRegistry
from payments.providers.base import PaymentsProvider
from payments.providers.paystack import DEFAULT_BASE_URL, PaystackProvider

PROVIDER_NAMES = ("simulated", "paystack", "manual")

registry = ProviderRegistry(
    kind="payments",
    setting="PAYMENTS_PROVIDER",
    paths_setting="PAYMENTS_PROVIDERS",
    # Settings read when a provider is built; a change to any of them drops the instances.
    reset_settings={
        "PAYSTACK_SECRET_KEY",
        "PAYSTACK_BASE_URL",
        "PAYSTACK_TIMEOUT_SECONDS",
        "SIMULATED_PROVIDER_SECRET",
    },
    names=PROVIDER_NAMES,
)


def get_provider(name: str | None = None) -> PaymentsProvider:
    return registry.get(name)


def reset_providers() -> None:
    registry.reset()


def paystack_from_settings() -> PaystackProvider:
    """The registry's factory for ``PAYMENTS_PROVIDERS["paystack"]``."""
    return PaystackProvider(
        secret_key=settings.PAYSTACK_SECRET_KEY,
        base_url=getattr(settings, "PAYSTACK_BASE_URL", DEFAULT_BASE_URL),
        timeout=getattr(settings, "PAYSTACK_TIMEOUT_SECONDS", 10),
    )

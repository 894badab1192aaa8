from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """Simulated providers for development, tests and the loopback demo: the payments provider
    (transfers, hosted checkout, signed webhooks), the SMS provider and the allowance-deduction
    adapter.

    Installed only where ``ALLOW_SIMULATED_PROVIDER`` is true (never in production with
    ``DEBUG=false``); nothing in the product imports it: settings name its providers by
    dotted path (``PAYMENTS_PROVIDERS``, ``SMS_PROVIDERS``) and ``config.urls`` includes its
    pages only when the app is installed.
    """

    name = "simulator"
    verbose_name = "Simulated providers"

"""The simulator app is installed only where the simulated provider is allowed: production
settings (DEBUG=false) neither install it, nor route its pages, nor import it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications.sms import get_sms_provider
from payments.providers import get_provider
from simulator.payments import SimulatedProvider
from simulator.sms import SimulatedSmsProvider

ROOT = Path(__file__).resolve().parents[2]

INSPECT = """
import sys
from django.apps import apps
from django.conf import settings
from django.urls import Resolver404, resolve
import config.urls  # noqa: the whole URL conf, as a request would load it
try:
    resolve("/webhooks/simulated")
    routed = True
except Resolver404:
    routed = False
print("installed", apps.is_installed("simulator"), "simulator" in settings.INSTALLED_APPS)
sim = "simulated"
print("providers", sim in settings.PAYMENTS_PROVIDERS, sim in settings.SMS_PROVIDERS)
print("routed", routed)
print("imported", any(name.split(".")[0] == "simulator" for name in sys.modules))
"""


def _run(**extra) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DEBUG", "SECRET", "PII", "ALLOWED", "DATABASE", "REDIS", "SIMULATED")
        )
        and key not in {"ALLOW_SIMULATED_PROVIDER", "PAYMENTS_PROVIDER", "SMS_PROVIDER"}
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="s" * 60,
        ALLOWED_HOSTS="allaweeplus.example",
        PII_ENCRYPTION_KEYS="ZmVybmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
        PII_HMAC_KEY="hmac",
        DJANGO_SETTINGS_MODULE="config.settings",
        **extra,
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + INSPECT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_do_not_install_route_or_import_the_simulator():
    result = _run(PAYMENTS_PROVIDER="paystack")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == [
        "installed False False",
        "providers False False",
        "routed False",
        "imported False",
    ]


def test_a_loopback_demo_that_asks_for_the_simulated_provider_installs_it():
    result = _run(
        PAYMENTS_PROVIDER="simulated",
        ALLOW_SIMULATED_PROVIDER="true",
        SIMULATED_PROVIDER_SECRET="demo-webhook-secret",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "installed True True",
        "providers True True",
        "routed True",
    ]


def test_development_resolves_the_simulated_providers_through_the_one_registry(settings):
    settings.PAYMENTS_PROVIDER = "simulated"
    settings.SMS_PROVIDER = "simulated"
    assert isinstance(get_provider(), SimulatedProvider)
    assert isinstance(get_sms_provider(), SimulatedSmsProvider)


def test_a_provider_that_settings_do_not_install_is_a_configuration_error(settings):
    settings.PAYMENTS_PROVIDERS = {"manual": "payments.providers.manual.ManualProvider"}
    with pytest.raises(ImproperlyConfigured, match="'simulated' \\(not installed"):
        get_provider("simulated")
    settings.SMS_PROVIDERS = {}
    settings.SMS_PROVIDER = "simulated"
    with pytest.raises(ImproperlyConfigured, match="Unknown SMS provider"):
        get_sms_provider()

"""One provider registry: payments and SMS providers are chosen the same way.

Settings map each provider name to the dotted path of a factory that reads its own settings
(``PAYMENTS_PROVIDERS``, ``SMS_PROVIDERS``) and name the provider in use
(``PAYMENTS_PROVIDER``, ``SMS_PROVIDER``). Simulated providers appear in those maps only
where ``ALLOW_SIMULATED_PROVIDER`` installs the ``simulator`` app, so the product never
imports them. The kernel imports no domain app: factories are loaded by name.

One instance per name per process (an HTTP adapter keeps a connection pool). A change to the
registry's settings (``setting_changed``, as tests do) drops the cached instances, closing any
that have ``close()``.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string


class ProviderRegistry:
    def __init__(
        self,
        *,
        kind: str,
        setting: str,
        paths_setting: str,
        reset_settings: Iterable[str] = (),
        reset_prefixes: tuple[str, ...] = (),
        names: tuple[str, ...] = (),
    ):
        self.kind = kind
        self.setting = setting
        self.paths_setting = paths_setting
        self._reset_settings = frozenset({setting, paths_setting, *reset_settings})
        self._reset_prefixes = reset_prefixes
        # Every name the project knows, for the error message (installed or not).
        self._names = names
        self._instances: dict[str, Any] = {}
        self._lock = threading.Lock()
        setting_changed.connect(self._on_setting_changed, dispatch_uid=f"providers.{kind}")

    def get(self, name: str | None = None) -> Any:
        """The provider called ``name`` (default: the one the setting names)."""
        name = name or getattr(settings, self.setting)
        provider = self._instances.get(name)
        if provider is None:
            with self._lock:
                provider = self._instances.get(name)
                if provider is None:
                    provider = self._instances[name] = self._build(name)
        return provider

    def reset(self) -> None:
        with self._lock:
            providers = list(self._instances.values())
            self._instances.clear()
        for provider in providers:
            close = getattr(provider, "close", None)
            if close is not None:
                close()

    def _build(self, name: str) -> Any:
        paths: dict[str, str] = getattr(settings, self.paths_setting, {})
        if name not in paths:
            known = self._names or tuple(paths)
            installed = " (not installed in these settings)" if name in known else ""
            raise ImproperlyConfigured(
                f"Unknown {self.kind} provider {name!r}{installed}; {self.setting} must be one "
                f"of {', '.join(known)}."
            )
        factory: Callable[[], Any] = import_string(paths[name])
        return factory()

    def _on_setting_changed(self, *, setting: str, **kwargs) -> None:
        if setting in self._reset_settings or setting.startswith(self._reset_prefixes):
            self.reset()

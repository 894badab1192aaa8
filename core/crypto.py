"""Protection of personal data we must keep but rarely show (the BVN).

A BVN is stored three ways, each for one job (Nigeria Data Protection Act 2023: keep only
what is needed, protect it):

- ciphertext (Fernet, through MultiFernet so keys can be rotated) for a permitted reveal;
- a keyed HMAC "blind index" for equality lookup and duplicate detection without decrypting;
- the last 4 digits, for the masked display ``•••••••1234``.

Keys come from the environment (``PII_ENCRYPTION_KEYS``: Fernet keys, comma separated,
current first; ``PII_HMAC_KEY``). Generate a Fernet key with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.

To rotate: put a new key first and keep the old ones after it, re-encrypt stored values
with :meth:`PiiCipher.rotate` (those for which :meth:`PiiCipher.needs_rotation` is true),
then drop the old key. The HMAC key cannot be rotated this way: every blind index would have
to be recomputed from the decrypted values.

The classes and functions taking explicit keys need no Django settings; ``pii_cipher()`` and
``bvn_blind_index()`` read the settings on first use and cache what they built.
"""

import base64
import functools
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.signals import setting_changed


class UndecryptableError(ValueError):
    """The token was not made by any configured key (or was altered)."""


class PiiCipher:
    """Encrypts short personal values with the first key; decrypts with any of them."""

    def __init__(self, keys: Sequence[str | bytes]):
        if isinstance(keys, (str, bytes)) or not keys:
            raise ValueError("PiiCipher needs a list of Fernet keys, the current key first")
        fernets = [Fernet(key) for key in keys]
        self._current = fernets[0]
        self._all = MultiFernet(fernets)

    def encrypt(self, text: str) -> str:
        return self._all.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._all.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise UndecryptableError(
                "This value cannot be decrypted with any configured PII key "
                "(was a key removed before its values were rotated?)."
            ) from exc

    def rotate(self, token: str) -> str:
        """The same plaintext encrypted under the current key (keeps the original timestamp)."""
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise UndecryptableError(
                "This value cannot be rotated: no configured PII key decrypts it."
            ) from exc

    def needs_rotation(self, token: str) -> bool:
        """True when the current key alone cannot decrypt the token."""
        try:
            self._current.decrypt(token.encode("ascii"))
        except InvalidToken:
            return True
        return False


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def blind_index(value: str, key: str | bytes) -> str:
    """HMAC-SHA256 (hex, 64 chars) of the value with whitespace removed and upper-cased.

    Equal values give equal indexes under one key, so a unique constraint and a lookup work
    on it; without the key the index cannot be brute-forced from the small BVN space.
    """
    if not key:
        raise ValueError("blind_index needs a non-empty key")
    normalised = "".join(str(value).split()).upper()
    return hmac.new(_key_bytes(key), normalised.encode(), hashlib.sha256).hexdigest()


def mask(last4: str, total_len: int = 11) -> str:
    """``•••••••1234``: the known tail shown, the rest as bullets (BVN is 11 digits)."""
    if not last4:
        return ""
    return "•" * max(total_len - len(last4), 0) + last4


def derive_dev_keys(secret: str) -> tuple[str, str]:
    """A Fernet key and an HMAC key derived from ``secret`` (development only).

    Used by the settings when DEBUG is on and no PII keys are in the environment, so a
    development database stays readable across restarts. Production must set real keys.
    """
    if not secret:
        raise ValueError("derive_dev_keys needs a non-empty secret")

    def derive(label: bytes) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"allaweeplus-dev-pii", info=label)
        return hkdf.derive(secret.encode())

    fernet_key = base64.urlsafe_b64encode(derive(b"pii-encryption-v1")).decode("ascii")
    hmac_key = derive(b"pii-blind-index-v1").hex()
    return fernet_key, hmac_key


# --- From the settings -------------------------------------------------------------------


def _setting(name: str) -> Any:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    value = getattr(settings, name, None)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set to protect personal data.")
    return value


@functools.lru_cache(maxsize=1)
def pii_cipher() -> PiiCipher:
    """The cipher built from ``settings.PII_ENCRYPTION_KEYS`` (current key first)."""
    keys = _setting("PII_ENCRYPTION_KEYS")
    if isinstance(keys, str):
        keys = [key.strip() for key in keys.split(",") if key.strip()]
    return PiiCipher(keys)


@functools.lru_cache(maxsize=1)
def _pii_hmac_key() -> bytes:
    return _key_bytes(_setting("PII_HMAC_KEY"))


def bvn_blind_index(bvn: str) -> str:
    """The blind index stored in ``Member.bvn_hash``."""
    return blind_index(bvn, _pii_hmac_key())


def reset_crypto_cache() -> None:
    """Forget cached keys (after a rotation, or when tests change the settings)."""
    pii_cipher.cache_clear()
    _pii_hmac_key.cache_clear()


def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {"PII_ENCRYPTION_KEYS", "PII_HMAC_KEY"}:
        reset_crypto_cache()


setting_changed.connect(_reset_on_setting_changed, dispatch_uid="core.crypto.reset_cache")

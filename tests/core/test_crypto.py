import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

if not settings.configured:
    # Runs without the project settings (``-p no:django``); tests/conftest.py's autouse
    # fixtures still touch the cache and PRIVATE_MEDIA_ROOT, so give them something harmless.
    settings.configure(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        PRIVATE_MEDIA_ROOT=Path(tempfile.gettempdir()) / "allaweeplus-unit-no-media",
    )

from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.test import override_settings  # noqa: E402

from core.crypto import (  # noqa: E402
    PiiCipher,
    UndecryptableError,
    blind_index,
    bvn_blind_index,
    derive_dev_keys,
    mask,
    pii_cipher,
    reset_crypto_cache,
)

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
BVN = "22345678901"


def test_encrypted_bvn_decrypts_to_the_same_text():
    cipher = PiiCipher([NEW_KEY])
    token = cipher.encrypt(BVN)
    assert BVN not in token
    assert cipher.decrypt(token) == BVN


def test_the_same_bvn_encrypts_differently_each_time():
    cipher = PiiCipher([NEW_KEY])
    assert cipher.encrypt(BVN) != cipher.encrypt(BVN)


def test_a_token_from_another_key_cannot_be_decrypted():
    token = PiiCipher([OLD_KEY]).encrypt(BVN)
    with pytest.raises(UndecryptableError):
        PiiCipher([NEW_KEY]).decrypt(token)


def test_a_tampered_token_cannot_be_decrypted():
    cipher = PiiCipher([NEW_KEY])
    token = cipher.encrypt(BVN)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(UndecryptableError):
        cipher.decrypt(tampered)


def test_after_adding_a_new_key_old_tokens_still_decrypt_and_need_rotation():
    old_token = PiiCipher([OLD_KEY]).encrypt(BVN)
    rotating = PiiCipher([NEW_KEY, OLD_KEY])
    assert rotating.decrypt(old_token) == BVN
    assert rotating.needs_rotation(old_token)
    assert not rotating.needs_rotation(rotating.encrypt(BVN))


def test_rotated_tokens_no_longer_need_the_old_key():
    old_token = PiiCipher([OLD_KEY]).encrypt(BVN)
    rotated = PiiCipher([NEW_KEY, OLD_KEY]).rotate(old_token)
    assert rotated != old_token
    new_only = PiiCipher([NEW_KEY])
    assert new_only.decrypt(rotated) == BVN
    assert not new_only.needs_rotation(rotated)
    with pytest.raises(UndecryptableError):
        PiiCipher([OLD_KEY]).decrypt(rotated)


def test_rotating_a_token_no_key_can_read_is_refused():
    foreign = PiiCipher([Fernet.generate_key()]).encrypt(BVN)
    with pytest.raises(UndecryptableError):
        PiiCipher([NEW_KEY, OLD_KEY]).rotate(foreign)


def test_cipher_needs_at_least_one_key():
    with pytest.raises(ValueError):
        PiiCipher([])
    with pytest.raises(ValueError):
        PiiCipher(NEW_KEY)  # a bare string is a mistake, not a list of one-character keys


def test_blind_index_is_stable_for_the_same_value_and_key():
    assert blind_index(BVN, b"k1") == blind_index(BVN, b"k1")
    assert len(blind_index(BVN, b"k1")) == 64


def test_blind_index_ignores_spacing():
    assert blind_index(" 2234 5678 901", b"k1") == blind_index(BVN, b"k1")


def test_blind_index_depends_on_the_key_and_the_value():
    assert blind_index(BVN, b"k1") != blind_index(BVN, b"k2")
    assert blind_index(BVN, b"k1") != blind_index("22345678902", b"k1")


def test_blind_index_is_not_a_plain_hash_of_the_bvn():
    import hashlib

    assert blind_index(BVN, b"k1") != hashlib.sha256(BVN.encode()).hexdigest()


def test_mask_shows_only_the_last_four_digits():
    assert mask("8901") == "•••••••8901"
    assert len(mask("8901")) == 11
    assert mask("8901", total_len=10) == "••••••8901"
    assert mask("") == ""


def test_dev_keys_are_deterministic_usable_and_distinct():
    fernet_key, hmac_key = derive_dev_keys("dev-secret")
    assert derive_dev_keys("dev-secret") == (fernet_key, hmac_key)
    assert derive_dev_keys("other-secret")[0] != fernet_key
    assert PiiCipher([fernet_key]).decrypt(PiiCipher([fernet_key]).encrypt(BVN)) == BVN
    assert hmac_key != fernet_key
    assert len(bytes.fromhex(hmac_key)) == 32


def test_settings_keys_are_read_and_cached_until_reset():
    fernet_key, hmac_key = derive_dev_keys("settings-secret")
    with override_settings(PII_ENCRYPTION_KEYS=[fernet_key], PII_HMAC_KEY=hmac_key):
        token = pii_cipher().encrypt(BVN)
        assert pii_cipher() is pii_cipher()
        assert PiiCipher([fernet_key]).decrypt(token) == BVN
        assert bvn_blind_index(BVN) == blind_index(BVN, hmac_key.encode())
    reset_crypto_cache()


def test_changing_the_settings_keys_resets_the_cache():
    with override_settings(PII_ENCRYPTION_KEYS=[OLD_KEY], PII_HMAC_KEY="first"):
        old_token = pii_cipher().encrypt(BVN)
        first_index = bvn_blind_index(BVN)
    with override_settings(PII_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY], PII_HMAC_KEY="second"):
        assert pii_cipher().needs_rotation(old_token)
        assert pii_cipher().decrypt(old_token) == BVN
        assert bvn_blind_index(BVN) != first_index
    reset_crypto_cache()


def test_missing_settings_keys_are_a_configuration_error():
    with override_settings(PII_ENCRYPTION_KEYS=[], PII_HMAC_KEY=""):
        with pytest.raises(ImproperlyConfigured):
            pii_cipher()
        with pytest.raises(ImproperlyConfigured):
            bvn_blind_index(BVN)
    reset_crypto_cache()

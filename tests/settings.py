"""Test settings: the real settings in development mode, with tasks run immediately."""

import os
from copy import deepcopy

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("TESTING", "true")
os.environ.setdefault("HUEY_IMMEDIATE", "true")
os.environ.setdefault("MFA_REQUIRED_FOR_STAFF", "false")

from config.settings import *  # noqa: E402, F403
from config.settings import CACHES, REDIS_URL  # noqa: E402

# Argon2 is the production hasher (asserted in tests); MD5 keeps the suite fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
if REDIS_URL:
    # Each xdist worker gets its own key prefix so parallel runs never share cached state.
    CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS}  # noqa: F405
PRIVATE_MEDIA_ROOT = BASE_DIR / "var" / f"test-private-{os.getpid()}"  # noqa: F405
STORAGES["default"]["OPTIONS"]["location"] = PRIVATE_MEDIA_ROOT  # noqa: F405
MEDIA_ROOT = PRIVATE_MEDIA_ROOT

# A read replica that is the test database itself (Django's TEST MIRROR), as
# DATABASE_REPLICA_URL would add it. Without the router nothing reads from it;
# tests/core/test_db_router.py installs the router and proves which reads go there.
DATABASES["replica"] = {**deepcopy(DATABASES["default"]), "TEST": {"MIRROR": "default"}}  # noqa: F405

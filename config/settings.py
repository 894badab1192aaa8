"""One settings file, driven by the environment.

With no variables set this is the embedded development mode: SQLite, a local-memory cache,
SqliteHuey and console e-mail. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL
(psycopg 3 with Django's connection pool), Redis cache/sessions and RedisHuey.
Production safety follows from ``DEBUG=False``: secure cookies, HSTS, SSL redirect and a
required ``SECRET_KEY``. Every variable is listed in the README and ``deploy/.env.example``.
"""

import os
from copy import deepcopy
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """A variable, or the content of the file named by ``NAME_FILE`` (Docker/systemd secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
TESTING = env_bool("TESTING", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) is required when DEBUG=False. "
            "For local development run with DEBUG=true (make run does)."
        )
    SECRET_KEY = "django-insecure-local-development-only-never-in-production"  # noqa: S105
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for DEBUG=False: use 50+ random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG=False.")


def _is_private_host(host: str) -> bool:
    import ipaddress

    name = host.strip("[]").lower()
    if name in {"localhost", "testserver"} or name.endswith((".localhost", ".test")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_private


if DEBUG and (public := [host for host in ALLOWED_HOSTS if not _is_private_host(host)]):
    # DEBUG shows tracebacks with settings and personal data to anyone who triggers an error.
    raise ImproperlyConfigured(
        f"DEBUG=True with a public host in ALLOWED_HOSTS ({', '.join(public)}): set DEBUG=false "
        "for anything reachable from outside this machine or a private network."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_bootstrap5",
    "corsheaders",
    "ninja",
    "huey.contrib.djhuey",
    "core",
    "members",
    "loans",
    "ledger",
    "payments",
    "servicing",
    "arrears",
    "api",
    "reports",
    "notifications",
    "privacy",
    "devdata",
]

MIDDLEWARE = [
    "core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestIdMiddleware",
    # Outside sessions and authentication: sees their cookies and redirects too.
    "core.middleware.PrivateResponsesMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Before StaffSecurityMiddleware so its redirects become JSON errors under /api/.
    "api.middleware.ApiMiddleware",
    # Inside ApiMiddleware, so its 400 for a NUL byte in the address is JSON under /api/.
    "core.middleware.NulByteMiddleware",
    "core.middleware.SessionAgeMiddleware",
    "core.middleware.StaffSecurityMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
            "builtins": ["core.templatetags.money"],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's native psycopg 3 pool: one pool per process, sized for the worker threads.
        # PgBouncer in transaction mode: set DATABASE_POOL=false and DISABLE_SERVER_SIDE_CURSORS.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        if env_bool("DATABASE_POOL", True):
            options["pool"] = {
                "min_size": env_int("DATABASE_POOL_MIN", 2),
                "max_size": env_int("DATABASE_POOL_MAX", 10),
                "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
            }
        # Server-side binding lets psycopg prepare a statement run five times on a connection,
        # so the hot queries (token lookup, list pages) are planned once per pooled connection
        # instead of on every call; planning cost more than executing them. Off behind a
        # PgBouncer in transaction mode without max_prepared_statements (PGBOUNCER=true).
        if env_bool("DATABASE_SERVER_SIDE_BINDING", not env_bool("PGBOUNCER", False)):
            options["server_side_binding"] = True
            # Django turns psycopg's statement preparation off unless asked; PostgreSQL keeps
            # re-planning a prepared statement while its generic plan would cost more (so a
            # prefix search still gets its index for each pattern).
            options["prepare_threshold"] = env_int("DATABASE_PREPARE_THRESHOLD", 5)
        statement_timeout = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 30000)
        options["options"] = f"-c statement_timeout={statement_timeout}"
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("PGBOUNCER", False)
        DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "timeout": 20,
            },
        }
    }
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL")
DATABASE_ROUTERS = []
if DATABASE_REPLICA_URL:
    # A read replica for reports and finance exports only (core/db_router.py says which).
    replica = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0)
    if replica["ENGINE"] == DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Same pool, statement timeout and PgBouncer setting as the primary: a report on the
        # replica must not run longer than on the primary either.
        own_options = replica.get("OPTIONS", {})
        replica["OPTIONS"] = {**deepcopy(DATABASES["default"]["OPTIONS"]), **own_options}
        replica["DISABLE_SERVER_SIDE_CURSORS"] = DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"]
    # Tests never create a second test database: the replica is the test database itself.
    replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = replica
    DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

AUTH_USER_MODEL = "members.User"

# --- Cache, sessions, tasks ------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.CountingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "awp",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # Redis down must degrade to cache misses, not take the site down.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # Sessions live in Redis and are written through to the database, so a Redis restart
    # logs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.CountingLocMemCache",
            "LOCATION": "allaweeplus",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        # Plain RedisHuey blocks on BRPOP, so a task starts the moment it is enqueued
        # (the priority variant polls with back-off: seconds of latency when idle).
        "huey_class": "huey.RedisHuey",
        "blocking": True,
        "name": env("HUEY_NAME", "allaweeplus"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        "consumer": {"workers": env_int("HUEY_WORKERS", 4), "worker_type": "thread"},
    }
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": env("HUEY_NAME", "allaweeplus"),
        "filename": str(env("HUEY_SQLITE_PATH", str(BASE_DIR / "var" / "huey.sqlite3"))),
        "immediate": HUEY_IMMEDIATE,
        "utc": True,
        # SQLite cannot block: poll often and back off to at most one second.
        "consumer": {
            "workers": env_int("HUEY_WORKERS", 2),
            "worker_type": "thread",
            "initial_delay": 0.05,
            "backoff": 1.15,
            "max_delay": 1.0,
        },
    }

# --- Authentication --------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # ModelBackend with each user's permission set cached across requests (invalidated on
    # every role or permission change; see core/auth_backends.py).
    "core.auth_backends.CachedPermissionsBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PERMISSION_CACHE_SECONDS = env_int("PERMISSION_CACHE_SECONDS", 300)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[AllaweePlus] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
# Rate limits are counted in the cache, so they are shared by every process in production.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    # Also throttles wrong MFA codes: allauth counts them as failed logins of the user.
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "confirm_email": "1/180s/key",
    "reset_password": "20/m/ip,3/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}
# The per-account ("key") limit above counts only browsers that never signed in to the
# account (members/lockout.py), so nobody can lock an owner out. Failing addresses wait
# instead: after LOGIN_IP_FREE_FAILURES failures in LOGIN_IP_WINDOW_SECONDS each attempt
# doubles the wait, up to LOGIN_IP_MAX_DELAY_SECONDS. The owner gets one e-mail per
# LOGIN_NOTICE_WINDOW_SECONDS once LOGIN_NOTICE_AFTER_FAILURES attempts were refused.
LOGIN_IP_FREE_FAILURES = 10
LOGIN_IP_WINDOW_SECONDS = 60 * 60
LOGIN_IP_MAX_DELAY_SECONDS = 60 * 60
LOGIN_NOTICE_AFTER_FAILURES = 5
LOGIN_NOTICE_WINDOW_SECONDS = 60 * 60
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "AllaweePlus"
# Staff must enrol in TOTP before using the back office when DEBUG=False.
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", not DEBUG)
STAFF_IDLE_TIMEOUT_SECONDS = env_int("STAFF_IDLE_TIMEOUT_SECONDS", 30 * 60)
REAUTHENTICATION_MAX_AGE_SECONDS = env_int("REAUTHENTICATION_MAX_AGE_SECONDS", 15 * 60)
# allauth's reauthentication_required reads its own setting; without this line the variable
# above changed nothing (allauth's 5 minutes applied).
ACCOUNT_REAUTHENTICATION_TIMEOUT = REAUTHENTICATION_MAX_AGE_SECONDS
# Every session (staff and members) ends this long after sign-in, however active it is: the
# cookie's age alone slides, because each session write (the staff idle stamp, a message)
# renews it. core.middleware.SessionAgeMiddleware holds the sign-in time in the session.
SESSION_ABSOLUTE_AGE_SECONDS = env_int("SESSION_ABSOLUTE_AGE_SECONDS", 8 * 60 * 60)
# After an administrator approves a member's deletion request, personal data is kept this
# many days (records a lender must keep, e.g. for the regulator) and then anonymised.
MEMBER_DATA_RETENTION_DAYS = env_int("MEMBER_DATA_RETENTION_DAYS", 5 * 365)

# --- Monthly partitions (PostgreSQL) -----------------------------------------------------
# The append-only tables are partitioned by UTC month (core/partitions.py). The daily task
# keeps this many months made ahead, and detaches (never drops) months older than the
# retention: the audit trail 7 years (lender records a regulator may ask for), the webhook
# inbox and the member message log 2 years. Detached months stay in the database as
# ``<table>_archived_YYYYMM`` tables until someone decides to export and drop them.
PARTITION_MONTHS_AHEAD = env_int("PARTITION_MONTHS_AHEAD", 3)
PARTITION_RETENTION_MONTHS = {
    "portal_auditevent": env_int("PARTITION_RETENTION_MONTHS_AUDIT", 84),
    "payments_webhookevent": env_int("PARTITION_RETENTION_MONTHS_WEBHOOKS", 24),
    "notifications_message": env_int("PARTITION_RETENTION_MONTHS_MESSAGES", 24),
}

# --- PII protection ----------------------------------------------------------------------
# BVNs are encrypted with MultiFernet (first key encrypts, all keys decrypt: rotation) and
# looked up through a keyed HMAC blind index. Development derives keys from SECRET_KEY.
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS")
PII_HMAC_KEY = env("PII_HMAC_KEY")
if not PII_ENCRYPTION_KEYS or not PII_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "PII_ENCRYPTION_KEYS and PII_HMAC_KEY are required when DEBUG=False."
        )
    from core.crypto import derive_dev_keys

    _dev_fernet, _dev_hmac = derive_dev_keys(SECRET_KEY)
    PII_ENCRYPTION_KEYS = PII_ENCRYPTION_KEYS or [_dev_fernet]
    PII_HMAC_KEY = PII_HMAC_KEY or _dev_hmac

# --- Files --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
try:
    import xstatic.pkg.bootstrap as _xstatic_bootstrap

    STATICFILES_DIRS.append(("bootstrap", _xstatic_bootstrap.BASE_DIR))
except ImportError:  # pragma: no cover - the dependency is in pyproject
    pass
# Member documents are private: stored outside STATIC/MEDIA web roots and served only
# through a permission-checked view.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private")))
MEDIA_ROOT = PRIVATE_MEDIA_ROOT
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": "/documents/"},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
# Per-member document quotas (issue 15, M7): enforced while the body is read
# (members/uploads.py), before anything is stored.
DOCUMENT_MAX_PER_MEMBER = env_int("DOCUMENT_MAX_PER_MEMBER", 6)
DOCUMENT_MAX_TOTAL_BYTES = env_int("DOCUMENT_MAX_TOTAL_BYTES", 20 * 1024 * 1024)
DOCUMENT_UPLOADS_PER_HOUR = env_int("DOCUMENT_UPLOADS_PER_HOUR", 10)
# A member's checkout waiting for the provider blocks a second "Pay" this long (M6).
CHECKOUT_PENDING_MINUTES = env_int("CHECKOUT_PENDING_MINUTES", 30)
# A checkout still unpaid at the provider this long after it started expires (checked with the
# provider first; a periodic task every 15 minutes) and leaves the member's statement.
CHECKOUT_EXPIRE_MINUTES = env_int("CHECKOUT_EXPIRE_MINUTES", 24 * 60)
# A waiver of late fees, fees or interest above this many kobo (₦5,000 by default), or that takes
# one loan's single-person waivers past it, waits for a second person (servicing).
WAIVER_SECOND_APPROVAL_ABOVE = env_int("WAIVER_SECOND_APPROVAL_ABOVE", 5_000_00)
# A hardship restructure may give the member at most this many months without installments.
RESTRUCTURE_MAX_HOLIDAY_MONTHS = env_int("RESTRUCTURE_MAX_HOLIDAY_MONTHS", 2)
# Lookups that can tell whether someone is a customer (M4): per user, per window.
IDENTITY_LOOKUP_LIMIT = env_int("IDENTITY_LOOKUP_LIMIT", 10)
IDENTITY_LOOKUP_WINDOW_SECONDS = env_int("IDENTITY_LOOKUP_WINDOW_SECONDS", 3600)
# Inline (HTMX) profile validation, formats only, per user in the same window.
PROFILE_VALIDATE_LIMIT = env_int("PROFILE_VALIDATE_LIMIT", 40)
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Africa/Lagos"  # display and "today" for borrowers; storage is UTC
USE_I18N = True
USE_TZ = True

# --- E-mail ------------------------------------------------------------------------------
# Django 6.1 MAILERS. EMAIL_BACKEND picks the backend; SMTP options come from EMAIL_*.
EMAIL_BACKEND_PATH = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 587),
        "username": env("EMAIL_HOST_USER", ""),
        "password": env("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "AllaweePlus <no-reply@allaweeplus.ng>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
FINANCE_REPORT_EMAILS = env_list("FINANCE_REPORT_EMAILS")

# --- Security --------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_AGE_SECONDS
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

# Behind nginx every request comes from 127.0.0.1; nginx overwrites X-Real-IP with the
# client's address, so rate limits and the audit log use that header instead — but only
# when the direct peer is one of TRUSTED_PROXIES (addresses or CIDRs): anyone else could
# send the header themselves. core.audit.client_ip is the one place that decides, and
# allauth asks it too (members.adapters.AccountAdapter.get_client_ip).
TRUSTED_CLIENT_IP_HEADER = env("TRUSTED_CLIENT_IP_HEADER", "" if DEBUG else "X-Real-IP")
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1")

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# --- JSON API ------------------------------------------------------------------------------
# Requests per window, counted in the cache (shared by every process through Redis).
API_RATE_LIMIT_ANON = env_int("API_RATE_LIMIT_ANON", 100)
API_RATE_LIMIT_AUTH = env_int("API_RATE_LIMIT_AUTH", 10_000)
API_RATE_LIMIT_WINDOW_SECONDS = env_int("API_RATE_LIMIT_WINDOW_SECONDS", 3600)
API_PAGE_SIZE = 50
# Stored answers to Idempotency-Key requests are kept this long, then purged hourly.
API_IDEMPOTENCY_RETENTION_HOURS = env_int("API_IDEMPOTENCY_RETENTION_HOURS", 7 * 24)
API_MAX_BODY_BYTES = 64 * 1024

# --- Tables, forms -----------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "portal/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table table-sm table-hover align-middle"}

# --- Logging: JSON lines, never PII ------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "huey": {"level": "INFO"},
    },
}

# --- Metrics and error tracking -----------------------------------------------------------
# /metrics answers a scraper with "Authorization: Bearer <METRICS_TOKEN>" (or permitted staff).
METRICS_TOKEN = env("METRICS_TOKEN", "")
METRICS_DB_CACHE_SECONDS = env_int("METRICS_DB_CACHE_SECONDS", 30)

SENTRY_DSN = env("SENTRY_DSN")
if SENTRY_DSN:
    # Off unless a DSN is set. No personal data leaves: no cookies, headers, bodies or user
    # details (send_default_pii=False), and core.logging.scrub_sentry_event strips the rest.
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    from core.logging import scrub_sentry_event

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        environment=env("SENTRY_ENVIRONMENT", "production"),
        release=env("SENTRY_RELEASE"),
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
        before_send=scrub_sentry_event,
        before_send_transaction=scrub_sentry_event,
    )

# --- Lending ------------------------------------------------------------------------------
DEFAULT_MONTHLY_ALLOWANCE_KOBO = 77_000_00
PAYMENTS_PROVIDER = env("PAYMENTS_PROVIDER", "simulated" if DEBUG else "paystack")
# The simulated provider lets anyone mark their own checkout as paid: never in production
# unless someone explicitly asks for it (a demo or a load test on loopback).
ALLOW_SIMULATED_PROVIDER = env_bool("ALLOW_SIMULATED_PROVIDER", DEBUG)
if PAYMENTS_PROVIDER == "simulated" and not ALLOW_SIMULATED_PROVIDER:
    raise ImproperlyConfigured(
        "PAYMENTS_PROVIDER=simulated is refused when DEBUG=False; set PAYMENTS_PROVIDER=paystack "
        "or ALLOW_SIMULATED_PROVIDER=true for a demo."
    )
PAYSTACK_SECRET_KEY = env("PAYSTACK_SECRET_KEY", "")
PAYSTACK_BASE_URL = env("PAYSTACK_BASE_URL", "https://api.paystack.co")
PAYSTACK_TIMEOUT_SECONDS = env_int("PAYSTACK_TIMEOUT_SECONDS", 10)
# The simulated provider signs its webhooks with a secret of its own: whoever learns it can
# post "payment successful", so never SECRET_KEY itself. Required for a loopback demo with
# DEBUG=false; development derives one.
SIMULATED_PROVIDER_SECRET = env("SIMULATED_PROVIDER_SECRET", "")
if not SIMULATED_PROVIDER_SECRET and DEBUG:
    import hashlib

    SIMULATED_PROVIDER_SECRET = hashlib.sha256(
        f"simulated-provider:{SECRET_KEY}".encode()
    ).hexdigest()
elif not SIMULATED_PROVIDER_SECRET and ALLOW_SIMULATED_PROVIDER:
    raise ImproperlyConfigured(
        "SIMULATED_PROVIDER_SECRET is required when DEBUG=False and ALLOW_SIMULATED_PROVIDER=true "
        "(the simulated webhook is signed with it; it never falls back to SECRET_KEY)."
    )
SIMULATED_TRANSFER_OUTCOME = env("SIMULATED_TRANSFER_OUTCOME", "success")
SIMULATED_FAIL_ACCOUNTS = env_list("SIMULATED_FAIL_ACCOUNTS")
SIMULATED_WEBHOOK_DELIVERY = env("SIMULATED_WEBHOOK_DELIVERY", "inline")
# Payments providers by name: the dotted path of a factory that reads its own settings
# (core.providers, one registry for payments and SMS).
PAYMENTS_PROVIDERS = {
    "paystack": "payments.providers.paystack_from_settings",
    "manual": "payments.providers.manual.ManualProvider",
}

# --- Member notifications -----------------------------------------------------------------
# SMS: "simulated" (development, tests), "termii" (Nigerian SMS API) or "none" (e-mail only).
# Production never falls back to the simulated provider silently: it defaults to "none".
SMS_PROVIDER = env("SMS_PROVIDER", "simulated" if DEBUG else "none")
if SMS_PROVIDER not in {"simulated", "termii", "none"}:
    raise ImproperlyConfigured("SMS_PROVIDER must be simulated, termii or none.")
if SMS_PROVIDER == "simulated" and not ALLOW_SIMULATED_PROVIDER:
    raise ImproperlyConfigured(
        "SMS_PROVIDER=simulated is refused when DEBUG=False; set SMS_PROVIDER=termii or none."
    )
TERMII_API_KEY = env("TERMII_API_KEY", "")
TERMII_SENDER_ID = env("TERMII_SENDER_ID", "")
TERMII_BASE_URL = env("TERMII_BASE_URL", "https://api.ng.termii.com")
# Termii's "generic" route is for promotional traffic (no DND numbers, and MTN holds it
# overnight); loan messages are transactional, so "dnd" unless the account lacks that route.
TERMII_CHANNEL = env("TERMII_CHANNEL", "dnd")
TERMII_TIMEOUT_SECONDS = env_int("TERMII_TIMEOUT_SECONDS", 10)
if SMS_PROVIDER == "termii" and not (TERMII_API_KEY and TERMII_SENDER_ID):
    raise ImproperlyConfigured("SMS_PROVIDER=termii needs TERMII_API_KEY and TERMII_SENDER_ID.")
SMS_PROVIDERS = {"termii": "notifications.sms.termii_from_settings"}

# The simulated providers (payments, SMS, allowance deduction) live in the `simulator` app,
# installed only where they are allowed: never in production with DEBUG=false unless someone
# asks for a loopback demo (ALLOW_SIMULATED_PROVIDER=true). Its pages are routed only then.
if ALLOW_SIMULATED_PROVIDER:
    INSTALLED_APPS.append("simulator")
    PAYMENTS_PROVIDERS["simulated"] = "simulator.payments.from_settings"
    SMS_PROVIDERS["simulated"] = "simulator.sms.SimulatedSmsProvider"
# Members are contacted only between these Lagos hours (FCCPC: reasonable hours); anything
# due outside them waits for the next opening. They may narrow the window, never widen it.
NOTIFY_QUIET_END = env_int("NOTIFY_QUIET_END", 8)
NOTIFY_QUIET_START = env_int("NOTIFY_QUIET_START", 21)
if not 8 <= NOTIFY_QUIET_END < NOTIFY_QUIET_START <= 21:
    raise ImproperlyConfigured(
        "Contact hours must lie within 08:00-21:00 Lagos: 8 <= NOTIFY_QUIET_END < "
        "NOTIFY_QUIET_START <= 21."
    )
# Failed deliveries are retried by the sweeper with growing delays, then marked failed.
NOTIFY_MAX_ATTEMPTS = 5
NOTIFY_RETRY_BASE_SECONDS = 60

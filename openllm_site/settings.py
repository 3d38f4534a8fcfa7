"""Settings, read from the environment only.

With nothing set, the site runs on embedded defaults under ``var/``: SQLite,
uploads in ``var/media``, a file-system Celery broker and a file cache, so a
fresh clone needs no server. ``DATABASE_URL``, ``CELERY_BROKER_URL``,
``CACHE_URL``, ``S3_BUCKET`` and ``EMAIL_HOST`` switch to PostgreSQL, Redis,
S3-compatible storage and SMTP. The README lists every variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_bool(name: str, default: bool) -> bool:
    # A typo (DEBUG=flase) must stop the start, not quietly mean False.
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ[name]!r} is not a yes/no value: use one of {', '.join(_TRUE + _FALSE)} "
        f"(any case), or leave it empty for the default."
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small: the least accepted value is {minimum}.")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


_RATE = re.compile(r"[0-9]+/([1-9][0-9]*)?[smhd](/(ip|user))?")


def env_rate_limits(name: str, defaults: dict[str, str], *, anonymous: tuple[str, ...] = ()) -> dict[str, str]:
    """``defaults`` with the rates given in ``name``, e.g.
    ``removal=5/h,report=20/h/ip,10/h/user,comment=off``: an item without
    ``=`` adds a rate to the form named before it. Forms in ``anonymous``
    have no account to count on, so ``/user`` rates are refused there."""
    limits = dict(defaults)
    action = ""
    for item in env(name).split(","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            action, _sep, rate = (part.strip() for part in item.partition("="))
            if action not in defaults:
                raise ImproperlyConfigured(f"{name}: unknown form {action!r}; the forms are {', '.join(defaults)}.")
            limits[action] = ""
        elif not action:
            raise ImproperlyConfigured(f"{name}: {item!r} names no form; write form=rate, e.g. removal=5/h.")
        else:
            rate = item
        if rate.lower() == "off":
            continue
        if not _RATE.fullmatch(rate):
            raise ImproperlyConfigured(
                f"{name}: {rate!r} for {action} is not a rate; write count/period with a period in s, m, h or d "
                f"(10/h, 3/15m), optionally followed by /ip or /user, or off."
            )
        if action in anonymous and rate.endswith("/user"):
            raise ImproperlyConfigured(f"{name}: {action} is anonymous, it can only be limited per address (/ip).")
        limits[action] = f"{limits[action]},{rate}" if limits[action] else rate
    return limits


VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", True)
_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = env("SITE_NAME", "OpenLLM Europe")
# Where links in emails point to (emails are sent by the worker, which has
# no request to take the address from).
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "contributions",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "contributions.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "contributions.middleware.MemberLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "contributions.middleware.AgreementRequiredMiddleware",
]

ROOT_URLCONF = "openllm_site.urls"
WSGI_APPLICATION = "openllm_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "contributions.context_processors.site",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Production keeps connections a minute (deploy/env.example; checked before
# reuse): opening one per request halves the pages a web process serves.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 0), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # The web server and the worker write to the same file: WAL and a busy
    # timeout keep one from failing while the other holds the write lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a worker process started by the tests sees it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: the rate limits (ours and allauth's) need one shared by every web
# process. An unreachable cache must not take the site down with it: the
# backends of contributions.cache log the failure and answer as if the key
# were missing, and short socket timeouts keep a dead Redis from holding up
# every request. /healthz still reports it.
CACHE_URL = env("CACHE_URL")
CACHES: dict[str, dict[str, object]]
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "contributions.cache.DegradingRedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "contributions.cache.DegradingFileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Template fragments that only the code, the language and the role change
# (the page header and footer): kept in each web process, never expired.
CACHES["fragments"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments",
                       "TIMEOUT": None}

AUTH_USER_MODEL = "contributions.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "contributions:home"

# django-allauth: email login, mandatory verification, no enumeration.
ACCOUNT_ADAPTER = "contributions.adapters.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "contributions.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_USER_DISPLAY = "contributions.accounts.user_display"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
# allauth's other rate limits keep its defaults; sign-up is set with ours
# below. Tests clear the cache between runs.

CONTRIBUTOR_AGREEMENT_VERSION = env("CONTRIBUTOR_AGREEMENT_VERSION", "2026-11")
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", True)

# Internationalisation: French first, English second.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

# Static files: vendored, served by WhiteNoise, no CDN.
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# In development WhiteNoise serves straight from the app folders; in
# production from STATIC_ROOT, filled by `collectstatic`.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"

S3_BUCKET = env("S3_BUCKET")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env("S3_ENDPOINT_URL") or None,
            "access_key": env("S3_ACCESS_KEY") or None,
            "secret_key": env("S3_SECRET_KEY") or None,
            "region_name": env("S3_REGION") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Email: printed on the console unless an SMTP host is given. Every message
# goes through the Celery worker (contributions.emails).
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
else:
    EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "OpenLLM Europe <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security. SECURE_HTTPS defaults to on whenever DEBUG is off.
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if SECURE_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies of ours append to X-Forwarded-For: the client
# address is the entry that many places from the end. Without a proxy the
# header is whatever the client wrote, so by default it is ignored and the
# rate limits count on REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# Rate limits of the public forms (contributions.ratelimits) and of allauth's
# sign-up, counting POSTs only. "N/period" counts per client address and, for
# a signed-in member, per account too; "/ip" or "/user" after it keeps one of
# the two. RATE_LIMITS overrides some, e.g. "removal=5/h,comment=off".
RATE_LIMITS = env_rate_limits(
    "RATE_LIMITS",
    # api_auth: API calls with a token that is unknown, expired or revoked.
    {"removal": "5/h", "report": "10/h", "comment": "30/h", "signup": "20/h/ip", "api_auth": "60/h/ip"},
    anonymous=("signup", "api_auth"),
)
ACCOUNT_RATE_LIMITS = {"signup": RATE_LIMITS["signup"]}

# Celery. Tasks are acknowledged after they ran and given back if the worker
# dies, so every task must be idempotent (see contributions/tasks.py).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://localhost/")
if urlsplit(CELERY_BROKER_URL).scheme == "filesystem":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        # The folder is read one message a poll: at kombu's default second,
        # a burst of tasks (a release notifying its submitters) would wait
        # a second each, and a worker done with one part of an analysis
        # would wait for the next.
        "polling_interval": 0.05,
    }
    # kombu's own transport can hand a worker a message still being
    # written: see openllm_site/filesystem_transport.py.
    CELERY_BROKER_TRANSPORT = "openllm_site.filesystem_transport:Transport"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task not acknowledged within this time goes back to the queue.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 6 * 60 * 60),
        # A broker that stops answering without closing the connection
        # (failover, NAT, firewall) must not hold a web request or a worker
        # for the system's TCP timeout, or forever. Redis answers in
        # milliseconds; the consumer's BRPOP is read from the event loop.
        "socket_connect_timeout": 3,
        "socket_timeout": 3,
    }
    _broker_url = urlsplit(CELERY_BROKER_URL)
    if _broker_url.scheme in ("redis", "rediss"):
        # kombu's Redis transport kills the worker when Redis restarts during
        # a task: see openllm_site/redis_transport.py.
        CELERY_BROKER_TRANSPORT = "openllm_site.redis_transport:Transport"
        if _broker_url.scheme == "rediss" and "ssl_cert_reqs" not in _broker_url.query:
            # kombu only turns TLS on by itself for the "rediss" transport
            # name, which the line above replaces. Certificates are checked
            # unless the URL says otherwise (?ssl_cert_reqs=none).
            import ssl

            CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "openllm")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker waits for the broker as long as it takes (Celery's default gives up
# after 100 attempts, about an hour) rather than exit.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# When the broker connection drops, a running analysis goes on (Celery 6 will
# cancel it by default): its row is the job, it finishes and is acknowledged
# through the new connection, and a second delivery of its message finds the
# row claimed and does nothing.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A request that enqueues while the broker is down must not hang: the row
# stays queued and the sweeper sends it again (contributions.jobs).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-jobs": {"task": "contributions.tasks.requeue_stale", "schedule": 60.0},
    "resumable-cleanup": {"task": "contributions.tasks.cleanup_resumable_uploads", "schedule": 3600.0},
    "review-digest": {
        "task": "contributions.tasks.send_review_digest",
        "schedule": crontab(hour=env_int("REVIEW_DIGEST_HOUR", 8), minute=0),
    },
}

# Submissions and their analysis.
UPLOAD_MAX_FILE_SIZE = env_int("UPLOAD_MAX_FILE_SIZE", 2 * 1024**3)
UPLOAD_MAX_FILES_PER_REQUEST = env_int("UPLOAD_MAX_FILES_PER_REQUEST", 20)
# Past our own limit, Django refuses the request outright (a 400 page).
DATA_UPLOAD_MAX_NUMBER_FILES = 200
FILE_UPLOAD_HANDLERS = [
    "contributions.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "contributions.uploads.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = env("FILE_UPLOAD_TEMP_DIR") or None
# Resumable uploads (tus, contributions.resumable): the chunks received so
# far, kept on this disk until the upload ends, is abandoned (no chunk for
# this long) or cancelled. Several web servers must share this folder.
RESUMABLE_UPLOAD_DIR = Path(env("RESUMABLE_UPLOAD_DIR", str(VAR_DIR / "resumable")))
RESUMABLE_UPLOAD_EXPIRY_HOURS = env_int("RESUMABLE_UPLOAD_EXPIRY_HOURS", 24, minimum=1)
# Uploads under way at once for one member, and the bytes they may hold
# together: each holds disk until it ends. A new upload starts only if the
# disk holds what every upload under way still has to write, and so much more.
RESUMABLE_UPLOADS_PER_MEMBER = env_int("RESUMABLE_UPLOADS_PER_MEMBER", 20, minimum=1)
RESUMABLE_UPLOAD_BYTES_PER_MEMBER = env_int("RESUMABLE_UPLOAD_BYTES_PER_MEMBER", 10 * 1024**3, minimum=1)
RESUMABLE_UPLOAD_FREE_BYTES = env_int("RESUMABLE_UPLOAD_FREE_BYTES", 2 * 1024**3, minimum=0)
# Review policy.
REVIEW_APPROVALS_REQUIRED = env_int("REVIEW_APPROVALS_REQUIRED", 2)
REVIEW_MAINTAINER_SETTLES = env_bool("REVIEW_MAINTAINER_SETTLES", True)
# How long "I am reviewing this" holds a corpus for one reviewer (renewed by
# claiming again): long enough for a careful review, short enough that a
# forgotten claim does not keep a corpus from the others for the day.
REVIEW_CLAIM_MINUTES = env_int("REVIEW_CLAIM_MINUTES", 90, minimum=1)
# One bulk exclusion keeps out at most this many documents (a filter that
# matches more is narrowed first).
REVIEW_BULK_EXCLUDE_MAX = env_int("REVIEW_BULK_EXCLUDE_MAX", 50_000, minimum=1)
# Personal data of these kinds becomes a placeholder (<EMAIL>...) in the
# training-ready version.
PII_PLACEHOLDER_KINDS = env_list("PII_PLACEHOLDER_KINDS", "email,phone,iban,nir,card,ip")

# Background jobs (contributions.jobs). A running job whose worker has not
# reported for this long is taken over by another worker, whatever its kind.
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 300)
# Where workers keep the temporary files of a job while it runs.
JOB_WORK_DIR = Path(env("JOB_WORK_DIR", str(VAR_DIR / "work")))
# Time budget of each part of an analysis: a fixed part, plus so much per
# megabyte of the file (a file read slower than 1 MB/min is malformed or
# hostile, and fails with that reason instead of holding a worker for hours).
ANALYSIS_BUDGET_SECONDS = env_int("ANALYSIS_BUDGET_SECONDS", 600)
ANALYSIS_BUDGET_SECONDS_PER_MB = env_int("ANALYSIS_BUDGET_SECONDS_PER_MB", 60)
# A corpus larger than this is analysed in parts of about this size (files,
# and JSON Lines files cut into ranges of lines) by as many workers as run.
ANALYSIS_PART_BYTES = env_int("ANALYSIS_PART_BYTES", 64 * 1024**2)
# Parts of one analysis waiting in the broker at a time: the parts of other
# corpora, queued later, wait behind no more than these.
ANALYSIS_PARTS_IN_FLIGHT = env_int("ANALYSIS_PARTS_IN_FLIGHT", 8)
# The last line of defence against work stuck in native code, where no
# budget can be checked: the pool process is killed, and the job's attempt
# cap decides what happens next.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 24 * 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

# The REST API (contributions.api) under /api/v1/: personal tokens for
# scripts, the session for the site's own pages. Every error is one JSON
# shape (contributions.api.errors). Rates count per token and per member
# (or per address for anonymous calls); API_RATE_LIMITS overrides them,
# e.g. "token=2000/hour,upload=6000/hour".
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 366, minimum=1)


def _api_rates(name: str, defaults: dict[str, str]) -> dict[str, str]:
    rates = dict(defaults)
    for item in env_list(name):
        scope, _sep, rate = (part.strip() for part in item.partition("="))
        if scope not in defaults:
            raise ImproperlyConfigured(f"{name}: unknown scope {scope!r}; the scopes are {', '.join(defaults)}.")
        if not re.fullmatch(r"[0-9]+/(second|minute|hour|day)", rate):
            raise ImproperlyConfigured(f"{name}: {rate!r} for {scope} is not a rate such as 1000/hour.")
        rates[scope] = rate
    return rates


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "contributions.api.authentication.TokenAuthentication",
        "contributions.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["contributions.api.permissions.AgreementAccepted"],
    "DEFAULT_THROTTLE_CLASSES": ["contributions.api.throttling.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": _api_rates(
        "API_RATE_LIMITS",
        # "token" counts each token, "member" all of a member's calls (every
        # token and the session together). An upload of 2 GiB in chunks of
        # 8 MiB is 256 requests.
        {"token": "3600/hour", "member": "7200/hour", "anonymous": "600/hour", "upload": "20000/hour"},
    ),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["contributions.api.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "contributions.api.pagination.Pagination",
    "EXCEPTION_HANDLER": "contributions.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OpenLLM Europe contribution API",
    "DESCRIPTION": (
        "Contribute corpora, follow their analysis and review, build releases. Scripts authenticate with "
        "`Authorization: Token <key>` (a personal token made on the profile page); files of any allowed size "
        "upload with the tus 1.0 protocol at /api/v1/uploads/."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No call to validator.swagger.io: nothing leaves the site.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
    "ENUM_NAME_OVERRIDES": {},
}

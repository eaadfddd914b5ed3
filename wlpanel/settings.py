"""wlpanel settings: one module, driven by the environment (twelve-factor).

WLPANEL_ENV selects the profile: "local" (default: plain http on loopback) or "production".
PostgreSQL and Redis default to the local servers when they answer; when one is neither
configured nor answering, an embedded stand-in is used and named in the log (docs/api.md).
"""

import hashlib
import ipaddress
import logging
import socket
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Where the embedded stand-ins keep their files (the SQLite database, the broker's folders).
VAR_DIR = Path(env.str("WLPANEL_VAR_DIR", default=str(BASE_DIR / "var")))

log = logging.getLogger("wlpanel.settings")

WLPANEL_ENV = env.str("WLPANEL_ENV", default="local")
PRODUCTION = WLPANEL_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=False)
if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
else:
    # Local profile only: a fixed, clearly non-secret key so sessions survive restarts.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-only-not-a-secret-0123456789abcdef")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "ninja",  # its templates and static files: /api/docs without a CDN
    "accounts",
    "audit",
    "clouds",
    "environments",
    "notify",
    "pricing",
    "quotas",
    "policies",
    "sso",
    "checks",
]
# The embedded AWS is an app only where it is served (`manage.py sandbox`): in the local profile,
# or where WLPANEL_SERVE_SANDBOX says so (docker-compose's sandbox service). The panel never imports it.
WLPANEL_SERVE_SANDBOX = env.bool("WLPANEL_SERVE_SANDBOX", default=not PRODUCTION)
if WLPANEL_SERVE_SANDBOX:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "wlpanel.degraded.DatabaseUnavailableMiddleware",  # outermost: sees every answer
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.CorrelationIdMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wlpanel.urls"
WSGI_APPLICATION = "wlpanel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "accounts.context_processors.roles",
            ],
        },
    },
]


# --- Services: PostgreSQL and Redis, with named embedded fallbacks -------------------------------


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wlpanel"
LOCAL_BROKER_URL = "redis://127.0.0.1:6379/0"

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif PRODUCTION or _answers("127.0.0.1", 5432):
    DATABASES = {"default": env.db_url_config(LOCAL_DATABASE_URL)}
else:
    log.warning("PostgreSQL not configured and not answering: using the embedded stand-in, SQLite (WAL)")
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "wlpanel.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("TEST", {})
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("application_name", "wlpanel")
    # Server-side parameters let psycopg prepare a statement after it ran 5 times on a connection, so
    # PostgreSQL stops re-planning the panel's joins on every page (planning cost more than running
    # them). Turn off behind a transaction-pooling PgBouncer older than 1.21.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)

if env.str("CELERY_BROKER_URL", default=""):
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL")
elif PRODUCTION or _answers("127.0.0.1", 6379):
    CELERY_BROKER_URL = LOCAL_BROKER_URL
else:
    log.warning("Redis not configured and not answering: using the embedded stand-in broker (filesystem)")
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "wlpanel.broker:Transport"  # kombu's, with atomic writes and claims
    for _folder in ("broker/queue", "broker/processed", "broker/control"):
        (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker/queue"),
        "data_folder_out": str(VAR_DIR / "broker/queue"),
        "processed_folder": str(VAR_DIR / "broker/processed"),
        "store_processed": False,
        # Fanout bindings (remote control); kombu's default is a relative "control/" in the cwd.
        "control_folder": str(VAR_DIR / "broker/control"),
        # A worker looks for messages this often (kombu's default, 1 s, slows every step hand-off).
        "polling_interval": 0.2,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Process-local: it holds only what may be a minute old on purpose (a Region's key pairs, read
# from AWS for the request form). Pages cache no renderings: what they show from AWS is computed
# when a description lands (environments.network_view).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Audit: the chain's key and its checkpoints (docs/audit.md, "Tamper evidence") -------------

# The HMAC key of the audit chain, kept outside the database: whoever holds only the database
# cannot forge or re-hash rows. Required in production; the local profile derives one from SECRET_KEY.
if PRODUCTION:
    WLPANEL_AUDIT_KEY = env.str("WLPANEL_AUDIT_KEY")
else:
    WLPANEL_AUDIT_KEY = env.str(
        "WLPANEL_AUDIT_KEY", default=hashlib.sha256(f"wlpanel-audit-chain:{SECRET_KEY}".encode()).hexdigest()
    )
# Append-only file of checkpoints of the chain's head, outside the database (one JSON line each).
WLPANEL_AUDIT_CHECKPOINT_FILE = Path(
    env.str("WLPANEL_AUDIT_CHECKPOINT_FILE", default=str(VAR_DIR / "audit-checkpoints.jsonl"))
)
WLPANEL_AUDIT_CHECKPOINT_SECONDS = env.int("WLPANEL_AUDIT_CHECKPOINT_SECONDS", default=300)
# Also to S3 with Object Lock when a bucket is named (created with Object Lock enabled).
WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET = env.str("WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET", default="")
WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX = env.str("WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX", default="audit-checkpoints/")
WLPANEL_AUDIT_CHECKPOINT_S3_REGION = env.str("WLPANEL_AUDIT_CHECKPOINT_S3_REGION", default="us-east-1")
WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS = env.int("WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS", default=400)

# --- Celery: at-least-once delivery; PostgreSQL decides what actually happens ---------------------

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker blip does not stop a step half way through its AWS calls: the step's lease and the
# database guard its work, and a redelivered message finds the step finished or still leased.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# On a warm shutdown, give running steps a moment and requeue unacked messages.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10.0
CELERY_TASK_DEFAULT_QUEUE = env.str("WLPANEL_QUEUE", default="wlpanel")
if CELERY_BROKER_URL.startswith("redis"):
    # Visibility timeout > 2x the hard time limit, and far above any countdown we use.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's redis transport with a fix that keeps a worker consuming after Redis restarts.
    CELERY_BROKER_TRANSPORT = "wlpanel.redis_transport:Transport"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# The pre-flight quota check: a stored reading older than this is refreshed (and beat's interval).
WLPANEL_QUOTA_REFRESH_SECONDS = env.int("WLPANEL_QUOTA_REFRESH_SECONDS", default=300)
CELERY_BEAT_SCHEDULE = {
    "reconcile": {"task": "environments.reconcile", "schedule": timedelta(seconds=15)},
    "expire": {"task": "environments.expire", "schedule": timedelta(minutes=1)},
    "drift-refresh": {"task": "environments.refresh_all", "schedule": timedelta(minutes=10)},
    "zones-refresh": {"task": "environments.zones_refresh", "schedule": timedelta(hours=6)},
    "prices-refresh": {"task": "pricing.refresh", "schedule": timedelta(days=1)},
    "quotas-refresh": {"task": "quotas.refresh_due", "schedule": timedelta(seconds=WLPANEL_QUOTA_REFRESH_SECONDS)},
    "requests-expire": {"task": "environments.expire_requests", "schedule": timedelta(minutes=1)},
    "webhooks-due": {"task": "notify.deliver_due_webhooks", "schedule": timedelta(minutes=1)},
    "audit-checkpoint": {"task": "audit.checkpoint", "schedule": timedelta(seconds=WLPANEL_AUDIT_CHECKPOINT_SECONDS)},
}

# --- AWS ------------------------------------------------------------------------------------------

# Unset: `make run` starts the sandbox and exports its URL here; a URL: that endpoint; "aws": real AWS.
WLPANEL_AWS_ENDPOINT = env.str("WLPANEL_AWS_ENDPOINT", default="")
# Names this panel in tags and ClientTokens, with an id generated once per database
# (environments.services.installation_id); set it when several panels share an AWS account.
WLPANEL_INSTALLATION_ID = env.str("WLPANEL_INSTALLATION_ID", default="")
# Connectivity checks (issue 16): once automatically when a build is ready (benchmarks switch it
# off), probe timeout in seconds, probes in flight, and the internet endpoint probed from instances on AWS.
WLPANEL_CHECKS_AUTOMATIC = env.bool("WLPANEL_CHECKS_AUTOMATIC", default=True)
WLPANEL_CHECKS_TIMEOUT = env.float("WLPANEL_CHECKS_TIMEOUT", default=1.0)
WLPANEL_CHECKS_PARALLEL = env.int("WLPANEL_CHECKS_PARALLEL", default=8)
WLPANEL_CHECKS_INTERNET_TARGET = env.str("WLPANEL_CHECKS_INTERNET_TARGET", default="")
# The detail page's network view (matrix, topology, security tables) is stored when a description
# lands (environments.network_view); 1 computes it on every read instead (the web benchmark's baseline).
WLPANEL_NETWORK_VIEW_ON_READ = env.bool("WLPANEL_NETWORK_VIEW_ON_READ", default=False)
WLPANEL_AWS_REGIONS = env.list("WLPANEL_AWS_REGIONS", default=["us-west-2", "us-east-1", "eu-west-3"])
# AWS accounts (clouds/): sessions of the roles the panel assumes (AWS: 900 s to the role's maximum),
# and the Region of the STS endpoint that answers AssumeRole.
WLPANEL_AWS_SESSION_SECONDS = env.int("WLPANEL_AWS_SESSION_SECONDS", default=3600)
WLPANEL_AWS_STS_REGION = env.str("WLPANEL_AWS_STS_REGION", default="us-east-1")
# InsufficientInstanceCapacity: retry on a minutes scale, then fail with what the user can do.
WLPANEL_CAPACITY_RETRY_SECONDS = env.float("WLPANEL_CAPACITY_RETRY_SECONDS", default=300.0)
WLPANEL_CAPACITY_MAX_ATTEMPTS = env.int("WLPANEL_CAPACITY_MAX_ATTEMPTS", default=6)

# --- Auth, sessions, security -------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "sso.backends.LocalLoginBackend",  # passwords, as WLPANEL_LOCAL_LOGIN allows
    "sso.backends.ProviderBackend",  # the company's OIDC provider, when WLPANEL_OIDC_ISSUER is set
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# A locked (address, username) pair may try again after this long.
AXES_COOLOFF_TIME = timedelta(minutes=env.int("WLPANEL_LOCKOUT_COOLOFF_MINUTES", default=15))
# Lock the (ip, username) pair: neither a victim's name alone nor a shared NAT address locks others out.
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
# Who the client is behind proxies: a count of proxies in front of the panel, or their CIDR blocks
# (audit/client_ip.py). Production sits behind one TLS proxy; locally the browser connects directly.
# (AXES_PROXY_COUNT is the earlier name of the count, still read.)
WLPANEL_TRUSTED_PROXIES = (
    env.str("WLPANEL_TRUSTED_PROXIES", default="") or env.str("AXES_PROXY_COUNT", default="") or ("1" if PRODUCTION else "0")
)
try:  # refused at start-up, not at the first request
    _proxies = [part.strip() for part in WLPANEL_TRUSTED_PROXIES.split(",") if part.strip()]
    if not (len(_proxies) == 1 and _proxies[0].isdigit()):
        for _proxy in _proxies or ["(none)"]:
            ipaddress.ip_network(_proxy, strict=False)
except ValueError as exc:
    raise ImproperlyConfigured(
        f"WLPANEL_TRUSTED_PROXIES: give a count of proxies (0, 1, 2 …) or CIDR blocks, not {WLPANEL_TRUSTED_PROXIES!r}."
    ) from exc
# Lockout, audit rows and rate limits all read the address through that one function.
AXES_CLIENT_IP_CALLABLE = "audit.client_ip.client_ip"

# API tokens expire this many days after they are issued.
WLPANEL_API_TOKEN_DAYS = env.int("WLPANEL_API_TOKEN_DAYS", default=90)
SESSION_ENGINE = "accounts.sessions"  # database sessions, their read compiled once per process
SESSION_COOKIE_AGE = env.int("WLPANEL_SESSION_MAX_AGE", default=12 * 3600)
WLPANEL_SESSION_IDLE_SECONDS = env.int("WLPANEL_SESSION_IDLE_SECONDS", default=30 * 60)
# Sensitive page actions (approve, destroy, opt-in) ask for the password again past this age.
WLPANEL_REAUTH_SECONDS = env.int("WLPANEL_REAUTH_SECONDS", default=15 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the body's hx-headers, not the cookie.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

from csp.constants import NONCE  # noqa: E402 - next to the policy it belongs to

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # NONCE is django-csp's sentinel: a per-response nonce when a template used one, else left
        # out. (The string "'nonce'" was sent as it is, an invalid source browsers warn about.)
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Static files, i18n, email, logging ----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Mail goes out by SMTP in production, or wherever EMAIL_HOST names a server; otherwise (`make run`)
# it is printed on the console.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION or EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="wlpanel <wlpanel@localhost>")
WLPANEL_BASE_URL = env.str("WLPANEL_BASE_URL", default="http://127.0.0.1:8000")

# Webhooks: retried with exponential backoff (RETRY_SECONDS, doubling, at most MAX_BACKOFF) up to
# MAX_ATTEMPTS. Private, link-local and metadata destinations are refused unless listed here (CIDRs).
WLPANEL_WEBHOOK_RETRY_SECONDS = env.float("WLPANEL_WEBHOOK_RETRY_SECONDS", default=30.0)
WLPANEL_WEBHOOK_MAX_BACKOFF_SECONDS = env.float("WLPANEL_WEBHOOK_MAX_BACKOFF_SECONDS", default=3600.0)
WLPANEL_WEBHOOK_MAX_ATTEMPTS = env.int("WLPANEL_WEBHOOK_MAX_ATTEMPTS", default=8)
WLPANEL_WEBHOOK_TIMEOUT_SECONDS = env.float("WLPANEL_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WLPANEL_WEBHOOK_ALLOWED_NETWORKS = env.list("WLPANEL_WEBHOOK_ALLOWED_NETWORKS", default=[])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"expected_denials": {"()": "wlpanel.logging.ExpectedDenials"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        # 403/404 are expected answers: one line with the reason, no traceback (wlpanel/logging.py).
        "django.request": {"filters": ["expected_denials"]},
    },
}

# --- Single sign-on (OpenID Connect; mozilla-django-oidc) -----------------------------------------
# Set WLPANEL_OIDC_ISSUER to log in through the company's provider; its endpoints come from its
# discovery document. Groups map to teams and roles by the rules in the admin (sso.GroupRule).
WLPANEL_OIDC_ISSUER = env.str("WLPANEL_OIDC_ISSUER", default="")
WLPANEL_OIDC_NAME = env.str("WLPANEL_OIDC_NAME", default="your identity provider")
WLPANEL_OIDC_GROUPS_CLAIM = env.str("WLPANEL_OIDC_GROUPS_CLAIM", default="groups")
WLPANEL_OIDC_USERNAME_CLAIM = env.str("WLPANEL_OIDC_USERNAME_CLAIM", default="preferred_username")
WLPANEL_OIDC_ACTIVE_CLAIM = env.str("WLPANEL_OIDC_ACTIVE_CLAIM", default="")  # false there deactivates
# Password logins: "all", "admins" (break-glass superusers only; the default with SSO) or "off".
WLPANEL_LOCAL_LOGIN = env.str("WLPANEL_LOCAL_LOGIN", default="admins" if WLPANEL_OIDC_ISSUER else "all")
OIDC_RP_CLIENT_ID = env.str("WLPANEL_OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("WLPANEL_OIDC_CLIENT_SECRET", default="")
OIDC_RP_SIGN_ALGO = env.str("WLPANEL_OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("WLPANEL_OIDC_SCOPES", default=f"openid email profile {WLPANEL_OIDC_GROUPS_CLAIM}")
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the hint for the provider's end-session endpoint at logout
OIDC_TIMEOUT = env.int("WLPANEL_OIDC_TIMEOUT_SECONDS", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_VERIFY_SSL = env.bool("WLPANEL_OIDC_VERIFY_TLS", default=True)

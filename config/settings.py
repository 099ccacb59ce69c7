"""Gatehouse settings: one module, every knob read from the environment (django-environ).

With nothing set, Gatehouse runs on the embedded default: SQLite under var/, a filesystem Celery
broker, mail captured to files, and a SECRET_KEY and encryption key generated once into var/.
A deployment that names a real database must name its secrets too (see config/secrets.py).
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from applications.oauth_policy import access_token_lifetime, pkce_required
from config.secrets import embedded_secrets, require_production_secrets

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
VAR_DIR = Path(env.str("GATEHOUSE_VAR_DIR", default=str(BASE_DIR / "var")))

EMBEDDED = not env.str("DATABASE_URL", default="")
if EMBEDDED:
    _secrets = embedded_secrets(VAR_DIR)
    SECRET_KEY = env.str("SECRET_KEY", default=_secrets.secret_key)
    GATEHOUSE_ENCRYPTION_KEYS = env.list("GATEHOUSE_ENCRYPTION_KEYS", default=_secrets.encryption_keys)
else:
    require_production_secrets(env)
    SECRET_KEY = env.str("SECRET_KEY")
    GATEHOUSE_ENCRYPTION_KEYS = env.list("GATEHOUSE_ENCRYPTION_KEYS")

DEBUG = env.bool("DEBUG", default=False)

# The one issuer of this deployment: the site's origin, never derived from the Host header.
GATEHOUSE_PORT = env.int("PORT", default=8000)
GATEHOUSE_ISSUER = env.str("GATEHOUSE_ISSUER", default=f"http://127.0.0.1:{GATEHOUSE_PORT}").rstrip("/")
ISSUER_IS_HTTPS = GATEHOUSE_ISSUER.startswith("https://")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[GATEHOUSE_ISSUER])

# Proxies (addresses or CIDR ranges) whose X-Forwarded-For we believe; see config/client_ip.py.
GATEHOUSE_TRUSTED_PROXIES = env.list("GATEHOUSE_TRUSTED_PROXIES", default=[])

# Sign-in protection (security/). Lockout is per email address, known or not: THRESHOLD failures
# within WINDOW lock it for BASE seconds, doubling with each lockout in a row up to MAX; a lock
# that ended more than RESET seconds ago no longer counts toward the doubling.
GATEHOUSE_LOCKOUT_THRESHOLD = env.int("GATEHOUSE_LOCKOUT_THRESHOLD", default=10)
GATEHOUSE_LOCKOUT_WINDOW_SECONDS = env.int("GATEHOUSE_LOCKOUT_WINDOW_SECONDS", default=15 * 60)
GATEHOUSE_LOCKOUT_BASE_SECONDS = env.int("GATEHOUSE_LOCKOUT_BASE_SECONDS", default=15 * 60)
GATEHOUSE_LOCKOUT_MAX_SECONDS = env.int("GATEHOUSE_LOCKOUT_MAX_SECONDS", default=24 * 60 * 60)
GATEHOUSE_LOCKOUT_RESET_SECONDS = env.int("GATEHOUSE_LOCKOUT_RESET_SECONDS", default=24 * 60 * 60)
# Failed sign-ins per client IP (an IPv6 /64 counts as one client) per window before /login answers 429.
GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT = env.int("GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT", default=50)
GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS = env.int("GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS", default=15 * 60)
# Second factors (identity/mfa/): wrong authenticator or recovery codes per user per window before the
# second-factor step refuses codes for the rest of the window (audited). Platform operators belong to no
# org, so no org policy covers them: this makes a second factor mandatory for them too.
GATEHOUSE_MFA_THROTTLE_LIMIT = env.int("GATEHOUSE_MFA_THROTTLE_LIMIT", default=5)
GATEHOUSE_MFA_THROTTLE_WINDOW_SECONDS = env.int("GATEHOUSE_MFA_THROTTLE_WINDOW_SECONDS", default=15 * 60)
GATEHOUSE_MFA_REQUIRED_FOR_OPERATORS = env.bool("GATEHOUSE_MFA_REQUIRED_FOR_OPERATORS", default=False)
# Sensitive console actions (rotating a secret, deleting, changing roles or security settings) need an
# authentication within this many seconds, else a step-up (identity/step_up.py, docs/step-up.md).
GATEHOUSE_STEP_UP_SECONDS = env.int("GATEHOUSE_STEP_UP_SECONDS", default=10 * 60)
if GATEHOUSE_STEP_UP_SECONDS < 60:
    # Shorter would send people back to the step-up page before they could submit the form again.
    raise ImproperlyConfigured("GATEHOUSE_STEP_UP_SECONDS must be at least 60.")
# Failed client authentications at /oauth/token, /oauth/revoke and /oauth/introspect
# (security/client_auth_throttle.py): per client IP, every such request is then refused (429); per
# client_id, only requests from IPs that themselves failed for that client are.
GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_LIMIT = env.int("GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_LIMIT", default=30)
GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_WINDOW_SECONDS = env.int("GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_WINDOW_SECONDS",
                                                           default=5 * 60)
GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_LIMIT = env.int("GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_LIMIT", default=10)
GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_WINDOW_SECONDS = env.int(
    "GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_WINDOW_SECONDS", default=5 * 60)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "oauth2_provider",
    "orgs",
    "directory",
    "identity",
    "django_otp",
    "identity.mfa",
    "identity.passkeys",
    "applications",
    "audit",
    "emailqueue",
    "security",
    "webhooks",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    # Sends the machine-facing OAuth endpoints down GATEHOUSE_OAUTH_API_MIDDLEWARE (below) instead.
    "identity.oidc.middleware.OAuthEndpointMiddleware",
    # Around the whole request (its session is written on the way out), on both chains.
    "config.prepared_statements.PreparedStatementsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise, whose static files keep their own caching; on the OAuth API chain too.
    "config.middleware.NoStoreMiddleware",
    "config.middleware.ClientIPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "identity.middleware.UserSessionMiddleware",
    "identity.time_zone.TimeZoneMiddleware",  # the viewer's zone for every time shown and date picked
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp_middleware.CSPMiddleware",  # django-csp's, with the common policy built once
]
# Performance: the token, userinfo, introspection and revocation endpoints are called with client
# credentials or bearer tokens, never a browser session, and are CSRF-exempt; they skip the
# middleware that only browsers need (identity/oidc/middleware.py). Anything added to MIDDLEWARE
# later applies to them too unless it is listed here.
GATEHOUSE_OAUTH_API_URL_NAMES = ["oidc:token", "oidc:userinfo", "oidc:introspect", "oidc:revoke"]
_BROWSER_ONLY_MIDDLEWARE = {
    "identity.oidc.middleware.OAuthEndpointMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "identity.middleware.UserSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
}
GATEHOUSE_OAUTH_API_MIDDLEWARE = [path for path in MIDDLEWARE if path not in _BROWSER_ONLY_MIDDLEWARE]
# Performance: on PostgreSQL, these requests' statements are prepared on the server, so PostgreSQL stops
# planning them on every sign-in (config/prepared_statements.py). Only views whose statements are all
# lookups or writes by a key belong here: a prepared statement may get one plan for every value.
GATEHOUSE_PREPARED_URL_NAMES = [
    "identity:login", "identity:login-verify", "passkeys:login-verify",
    "oidc:authorize", "oidc:token", "oidc:userinfo", "oidc:introspect", "oidc:revoke",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orgs.context_processors.console",
                "orgs.context_processors.hosted",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'gatehouse.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web and worker processes read while one writes; IMMEDIATE avoids
    # "database is locked" on read-then-write transactions.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, plus: no SELECT 1 health check on an idle, quiet connection, and prepared
    # statements for the token endpoints (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    SESSION_ENGINE = "config.sessions.cached_db"  # Django's, less a query per new session (its docstring)
else:
    # No Redis: counters that several processes must share live in database rows.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "gatehouse_cache",
        }
    }
    SESSION_ENGINE = "config.sessions.db"
# Where throttle and lockout counters live (security/counters.py): "redis" (atomic INCR with an
# expiry, database rows only while Redis is unreachable) when REDIS_URL is set, else "database" rows,
# which every process of the embedded default shares. Tests pick one per case; an operator may pin it.
GATEHOUSE_COUNTERS = env.str("GATEHOUSE_COUNTERS", default="redis" if REDIS_URL else "database")
if GATEHOUSE_COUNTERS not in {"redis", "database"} or (GATEHOUSE_COUNTERS == "redis" and not REDIS_URL):
    raise ImproperlyConfigured('GATEHOUSE_COUNTERS must be "database", or "redis" with REDIS_URL set.')

AUTH_USER_MODEL = "directory.User"
# Email uniqueness is enforced regardless of case by a functional constraint (user_email_ci_unique),
# which is stricter than the unique=True these checks ask for (E003 with ModelBackend alone, W004 with
# another backend beside it).
SILENCED_SYSTEM_CHECKS = ["auth.E003", "auth.W004"]
# Sessions are signed in through SessionUserBackend (it reads the signed-in user with SQL built once);
# ModelBackend answers authenticate() and reads sessions signed in before SessionUserBackend existed.
SESSION_AUTH_BACKEND = "directory.auth_backends.SessionUserBackend"
AUTHENTICATION_BACKENDS = [SESSION_AUTH_BACKEND, "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "/console/"

# Argon2id first, with OWASP's minimum parameters (see directory/hashers.py).
PASSWORD_HASHERS = [
    # It also verifies hashes of other Argon2 parameters (they are read off the hash) and upgrades them.
    # Django's own Argon2PasswordHasher is not listed: hashers are found by algorithm name, the last
    # listed wins, and its "argon2" would take every verify from this one.
    "directory.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # For generated client secrets only (OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"]); never first.
    "applications.hashers.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Cookies have names of their own so another app on the same host cannot collide with them.
SESSION_COOKIE_NAME = "gatehouse_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = ISSUER_IS_HTTPS
SESSION_COOKIE_AGE = env.int("GATEHOUSE_SESSION_AGE", default=12 * 60 * 60)
CSRF_COOKIE_NAME = "gatehouse_csrf"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = ISSUER_IS_HTTPS
CSRF_FAILURE_VIEW = "identity.views.csrf_failure"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.int("GATEHOUSE_HSTS_SECONDS", default=31536000) if ISSUER_IS_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
if ISSUER_IS_HTTPS and GATEHOUSE_TRUSTED_PROXIES:
    # TLS ends at the trusted proxy; it tells us the original scheme.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Mail: SMTP from EMAIL_URL in production; on the embedded default, captured as files in var/mail
# so a newcomer can read what Gatehouse sent.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# Outbox delivery (emailqueue/services.py explains the retry policy).
GATEHOUSE_EMAIL_MAX_ATTEMPTS = env.int("GATEHOUSE_EMAIL_MAX_ATTEMPTS", default=8)
GATEHOUSE_EMAIL_RETRY_BASE_SECONDS = env.int("GATEHOUSE_EMAIL_RETRY_BASE_SECONDS", default=30)
GATEHOUSE_EMAIL_RETRY_CAP_SECONDS = env.int("GATEHOUSE_EMAIL_RETRY_CAP_SECONDS", default=3600)
GATEHOUSE_EMAIL_SENDING_TIMEOUT_SECONDS = env.int("GATEHOUSE_EMAIL_SENDING_TIMEOUT_SECONDS", default=300)
GATEHOUSE_EMAIL_REDISPATCH_SECONDS = env.int("GATEHOUSE_EMAIL_REDISPATCH_SECONDS", default=300)
GATEHOUSE_EMAIL_QUEUE = env.str("GATEHOUSE_EMAIL_QUEUE", default="") or None
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Back-channel logout deliveries (identity/backchannel/delivery.py explains them), retried as mail is.
GATEHOUSE_BACKCHANNEL_MAX_ATTEMPTS = env.int("GATEHOUSE_BACKCHANNEL_MAX_ATTEMPTS", default=8)
GATEHOUSE_BACKCHANNEL_RETRY_BASE_SECONDS = env.int("GATEHOUSE_BACKCHANNEL_RETRY_BASE_SECONDS", default=30)
GATEHOUSE_BACKCHANNEL_RETRY_CAP_SECONDS = env.int("GATEHOUSE_BACKCHANNEL_RETRY_CAP_SECONDS", default=3600)
GATEHOUSE_BACKCHANNEL_TIMEOUT_SECONDS = env.int("GATEHOUSE_BACKCHANNEL_TIMEOUT_SECONDS", default=5)
# A back-channel logout URI on a loopback host makes Gatehouse POST to its own machine's ports: allowed by
# default only while the issuer itself is on a loopback host (a developer's machine).
GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK = env.bool(
    "GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK",
    default=(urlsplit(GATEHOUSE_ISSUER).hostname or "") in ("127.0.0.1", "::1", "localhost"),
)
# Webhook deliveries (webhooks/delivery.py explains them), retried as mail is. Targets on private, loopback,
# link-local or reserved addresses are refused, at save time and again at each delivery, unless allowed.
GATEHOUSE_WEBHOOKS_MAX_ATTEMPTS = env.int("GATEHOUSE_WEBHOOKS_MAX_ATTEMPTS", default=8)
GATEHOUSE_WEBHOOKS_RETRY_BASE_SECONDS = env.int("GATEHOUSE_WEBHOOKS_RETRY_BASE_SECONDS", default=30)
GATEHOUSE_WEBHOOKS_RETRY_CAP_SECONDS = env.int("GATEHOUSE_WEBHOOKS_RETRY_CAP_SECONDS", default=3600)
GATEHOUSE_WEBHOOKS_TIMEOUT_SECONDS = env.int("GATEHOUSE_WEBHOOKS_TIMEOUT_SECONDS", default=5)
GATEHOUSE_WEBHOOKS_QUEUE = env.str("GATEHOUSE_WEBHOOKS_QUEUE", default="") or None
GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = env.bool("GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Days the platform's own audit events (those of no organization) are kept; unset: for ever. Each org sets
# its own retention in the console.
GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS = env.int("GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS", default=None)
# How long an invitation link stays valid.
GATEHOUSE_INVITATION_HOURS = env.int("GATEHOUSE_INVITATION_HOURS", default=72)
# Password-reset requests (POST /password/reset) per address and per client IP in a window: enough for a
# lost email or two, too few to flood a mailbox (an unknown address gets a notice too).
GATEHOUSE_RESET_LIMIT_PER_EMAIL = env.int("GATEHOUSE_RESET_LIMIT_PER_EMAIL", default=5)
GATEHOUSE_RESET_LIMIT_PER_IP = env.int("GATEHOUSE_RESET_LIMIT_PER_IP", default=20)
GATEHOUSE_RESET_WINDOW_SECONDS = env.int("GATEHOUSE_RESET_WINDOW_SECONDS", default=3600)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Gatehouse <no-reply@gatehouse.local>")

# Celery: the filesystem transport on the embedded default, so the same task code runs as in
# production. The outbox row, not the broker, is the source of truth (DESIGN.md).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# Token housekeeping (identity/token_housekeeping.py): every interval, expired and spent token rows are
# deleted BATCH_SIZE per statement, at most MAX_BATCHES statements per kind of row in one run, so one
# run stays short however large a backlog is; the next run goes on where it stopped.
GATEHOUSE_TOKENS_PRUNE_INTERVAL_SECONDS = env.int("GATEHOUSE_TOKENS_PRUNE_INTERVAL_SECONDS", default=600)
GATEHOUSE_TOKENS_PRUNE_BATCH_SIZE = env.int("GATEHOUSE_TOKENS_PRUNE_BATCH_SIZE", default=10_000)
GATEHOUSE_TOKENS_PRUNE_MAX_BATCHES = env.int("GATEHOUSE_TOKENS_PRUNE_MAX_BATCHES", default=50)

OAUTH2_PROVIDER_APPLICATION_MODEL = "applications.Application"
# The lean token, refresh and userinfo paths (identity/oidc/lean*.py): the same answers as
# django-oauth-toolkit's path, for a fraction of the CPU. Off: every request takes DOT's path (the parity
# tests run both ways). They also turn themselves off when DOT, oauthlib or jwcrypto is not the version
# they were verified with (system check gatehouse.W001).
GATEHOUSE_LEAN_PATHS = env.bool("GATEHOUSE_LEAN_PATHS", default=True)
# django-oauth-toolkit, wrapped by identity/oidc: see docs/oidc.md for what we add around it.
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": GATEHOUSE_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "identity.oidc.validator.GatehouseValidator",
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "See your name",
        "email": "See your email address",
    },
    "DEFAULT_SCOPES": ["openid"],
    # Public kinds always need PKCE; a web app needs it when its registration says so.
    "PKCE_REQUIRED": pkce_required,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only: "plain" is refused
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207 `iss` on every authorization response
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,  # bearer tokens in the header, not the query
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("GATEHOUSE_ACCESS_TOKEN_SECONDS", default=3600),
    "ID_TOKEN_EXPIRE_SECONDS": env.int("GATEHOUSE_ID_TOKEN_SECONDS", default=3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("GATEHOUSE_REFRESH_TOKEN_SECONDS", default=30 * 24 * 3600),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Two requests from one client racing with the same refresh token (two tabs) both succeed
    # within this window; a replay after it revokes the whole family.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 10,
    "CLIENT_SECRET_HASHER": "gatehouse_secret_sha256",
    "OIDC_JWKS_MAX_AGE_SECONDS": 3600,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ALLOWED_SCHEMES": ["https", "http"],
    "REQUEST_APPROVAL_PROMPT": "force",
    # oauthlib calls this per token request: an application may set its own access token lifetime.
    "EXTRA_SERVER_KWARGS": {"token_expires_in": access_token_lifetime},
    # Scopes: OpenID Connect's plus the API scopes an app is granted; never OIDC scopes for a machine.
    "SCOPES_BACKEND_CLASS": "identity.oidc.scopes.GatehouseScopes",
    # A JWT (RFC 9068) for an API that asks for one, an opaque value otherwise; refresh tokens always opaque.
    "ACCESS_TOKEN_GENERATOR": "identity.oidc.access_tokens.access_token_generator",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
}

# The management API (api/, docs/api.md): Django REST framework with drf-spectacular. Every error is
# application/problem+json (api/problems.py); callers authenticate with API keys (api/authentication.py).
# Rate limits per key and per client IP (an IPv6 /64 counts as one), per window, on the shared counters.
GATEHOUSE_API_RATE_LIMIT_PER_KEY = env.int("GATEHOUSE_API_RATE_LIMIT_PER_KEY", default=600)
GATEHOUSE_API_RATE_LIMIT_PER_IP = env.int("GATEHOUSE_API_RATE_LIMIT_PER_IP", default=1200)
GATEHOUSE_API_RATE_LIMIT_WINDOW_SECONDS = env.int("GATEHOUSE_API_RATE_LIMIT_WINDOW_SECONDS", default=60)
# JSON bodies are small (a user, a group, an application): anything larger is refused with 413.
GATEHOUSE_API_MAX_BODY_BYTES = env.int("GATEHOUSE_API_MAX_BODY_BYTES", default=64 * 1024)
GATEHOUSE_API_PAGE_SIZE = env.int("GATEHOUSE_API_PAGE_SIZE", default=50)
GATEHOUSE_API_PAGE_SIZE_MAX = env.int("GATEHOUSE_API_PAGE_SIZE_MAX", default=200)
# Fail closed: a key with an empty IP allow-list is refused from every address (not allowed from any).
GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST = env.bool("GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST", default=False)
# User sync (api/sync.py): an application's feed is recomputed at most this often, however often it polls.
GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS = env.int("GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS", default=10)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [],  # api.base.ApiView checks each view's declared permission
    "DEFAULT_THROTTLE_CLASSES": [],  # api.base.ApiView counts per IP and per key (api/throttling.py)
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "api.renderers.ProblemJSONRenderer"],
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "STRICT_JSON": True,
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse management API",
    "DESCRIPTION": "The organization's users, groups, applications, API keys, audit and email, as JSON. "
                   "Errors are application/problem+json (RFC 9457). See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1(?:/orgs/\{org_slug\})?",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.add_problem_responses"],
    "ENUM_NAME_OVERRIDES": {
        "MembershipStatusEnum": "orgs.models.Membership.Status",
        "MembershipStatusChangeEnum": "api.serializers.users.STATUS_CHANGES",
        "AccountStatusEnum": "directory.models.User.Status",
        "SyncStatusEnum": "api.serializers.app_users.SYNC_STATUSES",
        "ApiKeyStatusEnum": "api.serializers.api_keys.KEY_STATUSES",
        "EmailStatusEnum": "emailqueue.models.OutboundEmail.Status",
    },
}

# The web server's access log (config/access_log.py): `-` for standard output, a file's path, or `off`.
GATEHOUSE_ACCESS_LOG = env.str("GATEHOUSE_ACCESS_LOG", default="-")
if GATEHOUSE_ACCESS_LOG.strip().lower() in {"", "off", "none", "false", "0"}:
    GATEHOUSE_ACCESS_LOG = ""
_ACCESS_HANDLER: dict[str, object] = (
    {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "message"}
    if GATEHOUSE_ACCESS_LOG in {"", "-"}
    else {"class": "logging.FileHandler", "filename": GATEHOUSE_ACCESS_LOG, "formatter": "message", "delay": True}
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Query strings can carry codes, tokens and secrets: their values never reach a log line.
    "filters": {"redact_query": {"()": "config.redaction.RedactQueryFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "message": {"format": "%(message)s"},
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                          "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Django's own runserver handler (django.utils.log.DEFAULT_LOGGING), redefined to add the filter.
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
        "access": _ACCESS_HANDLER,
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["redact_query"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False,
                          "filters": ["redact_query"]},
        # Its lines are redacted as they are built; LOG_LEVEL does not silence them.
        "gatehouse.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}

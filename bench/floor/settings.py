"""A stock Django project that signs in and answers OpenID Connect's code flow, as a Django team would write
one from the framework's and django-oauth-toolkit's documentation: the floor under Gatehouse's hosted sign-in
and authorization-code flow (bench/login_floor.py).

It keeps what every sign-in needs and Gatehouse's costs for them: Django's middleware for security headers,
sessions, CSRF and the signed-in user; the session row in PostgreSQL; django.contrib.auth's user table and
ModelBackend (one SELECT, then `update_last_login`); Gatehouse's own Argon2id hasher at production's
parameters; persistent database connections. The flow is stock django-oauth-toolkit with OIDC on (PKCE, an
RS256 ID token, the code, tokens and ID token stored as DOT stores them), for one client that skips consent
and whose secret is stored unhashed (DOT would otherwise check it with the Argon2id hasher on every token
request). It has none of Gatehouse's throttle, lockout, audit, device list, branding, second factors, org and
membership rules, claims, access log or content security policy: those are what Gatehouse adds.
"""

import os

import environ

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions", "oauth2_provider"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [os.path.join(BASE_DIR, "templates")],
    "OPTIONS": {"context_processors": ["django.template.context_processors.csrf",
                                       "django.template.context_processors.request"]},
}]
DATABASES = {"default": {**environ.Env.db_url_config(os.environ["DATABASE_URL"]), "CONN_MAX_AGE": 600,
                         "CONN_HEALTH_CHECKS": True}}
PASSWORD_HASHERS = ["directory.hashers.OwaspArgon2PasswordHasher"]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "/login"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ.get("FLOOR_OIDC_RSA_PRIVATE_KEY", ""),
    "OIDC_ISS_ENDPOINT": os.environ.get("GATEHOUSE_ISSUER", ""),
    "SCOPES": {"openid": "OpenID Connect", "profile": "Profile", "email": "Email"},
    "PKCE_REQUIRED": True,
}

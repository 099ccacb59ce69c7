"""A stock Django project that does nothing but sign in, as any Django team would write one: the floor under
Gatehouse's hosted sign-in (bench/login_floor.py).

It keeps what every sign-in needs and Gatehouse's costs for them: Django's middleware for security headers,
sessions, CSRF and the signed-in user; the session row in PostgreSQL; django.contrib.auth's user table and
ModelBackend (one SELECT, then `update_last_login`); Gatehouse's own Argon2id hasher at production's
parameters; persistent database connections. It has none of Gatehouse's throttle, lockout, audit, device
list, branding, second factors, access log or content security policy: those are what Gatehouse adds.
"""

import os

import environ

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"]
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
    "OPTIONS": {"context_processors": ["django.template.context_processors.csrf"]},
}]
DATABASES = {"default": {**environ.Env.db_url_config(os.environ["DATABASE_URL"]), "CONN_MAX_AGE": 600,
                         "CONN_HEALTH_CHECKS": True}}
PASSWORD_HASHERS = ["directory.hashers.OwaspArgon2PasswordHasher"]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

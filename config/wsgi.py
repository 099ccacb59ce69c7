"""WSGI entry point for gunicorn, with a lean path for the two static OIDC documents.

Discovery and JWKS are the most requested URLs of an identity provider (every RP library fetches
them, and again when it meets an unknown kid) and they are static: `application` serves them from the
same in-process caches as their Django views (identity.oidc.endpoints.discovery_bytes,
identity.jwks.jwks_document), with the same bytes and the same headers the full middleware stack
would add, but without running that stack. Anything else — another method or path, a Host that is
not allowed, an https redirect to make, a request carrying a session cookie, or a cache that is empty
or stale — goes to Django, whose views then (re)build the caches. The fast path never touches the
database or a session.
config/tests/test_wsgi_fast_path.py proves it answers what the Django views answer.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

# Imported once Django is set up (they use models and settings).
from django.conf import settings  # noqa: E402
from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest  # noqa: E402
from django.core.signals import setting_changed  # noqa: E402
from django.utils import translation  # noqa: E402

from config.csp_middleware import default_policies  # noqa: E402
from identity.jwks import jwks_document_if_fresh  # noqa: E402
from identity.oidc.endpoints import DISCOVERY_MAX_AGE, discovery_bytes_if_built  # noqa: E402

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"

# (secure, language) -> the headers the middleware adds to every such response (SecurityMiddleware,
# XFrameOptionsMiddleware, CSPMiddleware, LocaleMiddleware, and SessionMiddleware's Vary: Cookie, as
# UserSessionMiddleware always looks at the session); emptied when settings change (tests).
_envelopes: dict[tuple[bool, str], list[tuple[str, str]]] = {}


def _envelope(secure: bool, language: str) -> list[tuple[str, str]]:
    headers = _envelopes.get((secure, language))
    if headers is None:
        headers = [("Vary", "Accept-Language, Cookie"), ("Content-Language", language)]
        if settings.X_FRAME_OPTIONS:
            headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
        if secure and settings.SECURE_HSTS_SECONDS:
            hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                hsts += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                hsts += "; preload"
            headers.append(("Strict-Transport-Security", hsts))
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            headers.append(("X-Content-Type-Options", "nosniff"))
        if settings.SECURE_REFERRER_POLICY:
            policy = settings.SECURE_REFERRER_POLICY
            if isinstance(policy, str):
                policy = policy.split(",")
            headers.append(("Referrer-Policy", ",".join(value.strip() for value in policy)))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
        csp, csp_report_only = default_policies()
        if csp:
            headers.append(("Content-Security-Policy", csp))
        if csp_report_only:
            headers.append(("Content-Security-Policy-Report-Only", csp_report_only))
        _envelopes[secure, language] = headers
    return headers


def _forget_envelopes(**kwargs) -> None:
    _envelopes.clear()


setting_changed.connect(_forget_envelopes)


def _csp_excluded(path: str) -> bool:
    for name in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"):
        prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
        if path.startswith(tuple(prefixes)):
            return True
    return False


def _document(path: str) -> tuple[bytes, str] | None:
    if path == JWKS_PATH:
        return jwks_document_if_fresh()
    body = discovery_bytes_if_built()
    return (body, f"public, max-age={DISCOVERY_MAX_AGE}") if body is not None else None


def lean_response(environ) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """(status, headers, body) for a GET of discovery or JWKS, or None to leave it to Django."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    path = environ.get("PATH_INFO")
    if path != JWKS_PATH and path != DISCOVERY_PATH:
        return None
    document = _document(path)
    if document is None:
        return None
    if settings.SESSION_COOKIE_NAME in environ.get("HTTP_COOKIE", ""):
        return None  # a browser session: the full stack may update or end it (UserSessionMiddleware)
    request = WSGIRequest(environ)  # cheap: Django's own Host and scheme rules, nothing read
    try:
        request.get_host()
    except DisallowedHost:
        return None  # Django answers 400 and logs it
    secure = request.is_secure()
    if settings.SECURE_SSL_REDIRECT and not secure:
        return None  # SecurityMiddleware redirects
    if settings.DISALLOWED_USER_AGENTS or _csp_excluded(path):
        return None  # CommonMiddleware may refuse the request; CSPMiddleware may skip the header
    # LocaleMiddleware's choice (no i18n_patterns in config/urls.py), for Content-Language.
    language = translation.get_language_from_request(request)
    body, cache_control = document
    headers = [
        ("Content-Type", "application/json"),
        ("Cache-Control", cache_control),
        ("Access-Control-Allow-Origin", "*"),
        *_envelope(secure, language),
        ("Content-Length", str(len(body))),
    ]
    return "200 OK", headers, body


def application(environ, start_response):
    response = lean_response(environ)
    if response is None:
        return django_application(environ, start_response)
    status, headers, body = response
    start_response(status, headers)
    return [body]

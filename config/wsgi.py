"""WSGI entry point for the web server (config/server.py), with a lean path for the two static OIDC
documents and for a machine's token request.

Discovery and JWKS are the most requested URLs of an identity provider (every RP library fetches
them, and again when it meets an unknown kid) and they are static: `application` serves them from the
same in-process caches as their Django views (identity.oidc.endpoints.discovery_bytes,
identity.jwks.jwks_document), with the same bytes and the same headers the full middleware stack
would add, but without running that stack. Anything else — another method or path, a Host that is
not allowed, an https redirect to make, a request carrying a session cookie, or a cache that is empty
or stale — goes to Django, whose views then (re)build the caches. The fast path never touches the
database or a session.
config/tests/test_wsgi_fast_path.py proves it answers what the Django views answer.

A machine's client-credentials request (`POST /oauth/token`, HTTP Basic, a small form body, no Origin,
no cookie, no query) is handed to the same lean token paths the token view asks first
(identity.oidc.lean), with the same security headers, without the middleware stack, URL resolution and
view wrappers around them; whatever they do not answer, and every error, goes to Django unchanged (with
the body it has read put back). It is skipped while this process remembers a throttled client or IP, so
the client-authentication throttle always sees such requests.

Around both, and around Django: the access log (config/access_log.py), and the removal of the process
environment that granian copies into every request's environ (below).
"""

import io
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

from config import access_log  # noqa: E402
from config.client_ip import client_ip  # noqa: E402
from config.csp_middleware import default_policies  # noqa: E402
from identity.jwks import jwks_document_if_fresh  # noqa: E402
from identity.oidc import lean  # noqa: E402
from identity.oidc.endpoints import DISCOVERY_MAX_AGE, discovery_bytes_if_built  # noqa: E402
from security.client_auth_throttle import client_auth_memory_empty  # noqa: E402

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/oauth/token"
# A machine's token request is under 1 KB; a larger body is DOT's to parse (and refuse).
MAX_TOKEN_BODY = 4096

# (secure, language) -> the headers the middleware adds to every such response (SecurityMiddleware,
# XFrameOptionsMiddleware, CSPMiddleware, LocaleMiddleware, and SessionMiddleware's Vary: Cookie, as
# UserSessionMiddleware always looks at the session); emptied when settings change (tests).
_envelopes: dict[tuple[bool, str], list[tuple[str, str]]] = {}


def _envelope(secure: bool, language: str | None) -> list[tuple[str, str]]:
    """The headers the middleware adds to every such response; `language` None for the OAuth API
    endpoints, which skip the locale and session middleware (settings.GATEHOUSE_OAUTH_API_MIDDLEWARE)."""
    headers = _envelopes.get((secure, language))
    if headers is None:
        headers = [("Vary", "Accept-Language, Cookie"), ("Content-Language", language)] if language else []
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
    if not _host_allowed(request):
        return None
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


def _host_allowed(request) -> bool:
    try:
        request.get_host()
    except DisallowedHost:
        return False  # Django answers 400 and logs it
    return True


def lean_token_response(environ) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """(status, headers, body) for a machine's token request the lean paths answer, or None for Django
    (then environ's input holds the same body again)."""
    if (environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != TOKEN_PATH
            or environ.get("QUERY_STRING") or environ.get("HTTP_ORIGIN") or environ.get("HTTP_COOKIE")
            or not environ.get("HTTP_AUTHORIZATION", "").startswith("Basic ") or not client_auth_memory_empty()):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_TOKEN_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    request = WSGIRequest(environ)
    secure = request.is_secure()
    if (not _host_allowed(request) or (settings.SECURE_SSL_REDIRECT and not secure)
            or settings.DISALLOWED_USER_AGENTS or _csp_excluded(TOKEN_PATH)):
        environ["wsgi.input"] = io.BytesIO(body)
        return None
    request.client_ip = client_ip(request.META)  # as ClientIPMiddleware sets it
    response = lean.token_response(request)
    if response is None:
        environ["wsgi.input"] = io.BytesIO(body)
        return None
    # The CORS wrapper's Vary (identity/oidc/cors.py), then the middleware's security headers.
    headers = [*response.items(), ("Vary", "Origin"), *_envelope(secure, None),
               ("Content-Length", str(len(response.content)))]
    return f"{response.status_code} {response.reason_phrase}", headers, response.content


# granian (config/server.py) starts every request's environ as a copy of the process environment
# (granian/wsgi.py, 2.8: `basic_env = dict(os.environ)`), so SECRET_KEY, DATABASE_URL with its password and
# GATEHOUSE_ENCRYPTION_KEYS would sit in request.META, where an error report can show them. A name no request
# can carry is dropped outright; a process variable named like a request variable (HTTP_PROXY, CONTENT_TYPE)
# only while it still holds the process's value, so a request's own header of that name is kept.
_CGI_NAMES = frozenset({"CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "QUERY_STRING",
                        "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "REQUEST_METHOD", "SCRIPT_NAME", "SERVER_NAME",
                        "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE"})


def _process_environment(variables) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """(the names no request carries, the (name, value) pairs named like request variables)"""
    request_like = {name for name in variables if name in _CGI_NAMES or name.startswith("HTTP_")}
    return (tuple(name for name in variables if name not in request_like),
            tuple((name, variables[name]) for name in request_like))


_PROCESS_ONLY, _PROCESS_NAMED_LIKE_REQUEST = _process_environment(os.environ)


def _without_process_environment(environ) -> None:
    for name in _PROCESS_ONLY:
        environ.pop(name, None)
    for name, value in _PROCESS_NAMED_LIKE_REQUEST:
        if environ.get(name) == value:
            del environ[name]


def serve(environ, start_response):
    _without_process_environment(environ)
    response = lean_response(environ) or lean_token_response(environ)
    if response is None:
        return django_application(environ, start_response)
    status, headers, body = response
    start_response(status, headers)
    return [body]


application = access_log.logged(serve) if settings.GATEHOUSE_ACCESS_LOG else serve

"""Content-Security-Policy form-action for pages whose POST ends in a redirect to an application.

Chromium applies form-action to every redirect that follows a form submission, so the sign-in and
consent pages must name the origin of the registered redirect URI they will end at.
"""

from urllib.parse import parse_qs, urlparse

from applications.models import Application
from config.compiled_queries import CompiledQuery, first_row


def redirect_target_source(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return f"{parsed.scheme}://{parsed.netloc}"
    if parsed.scheme:
        return f"{parsed.scheme}:"  # a native app's private-use scheme
    return None


# Read by the sign-in page an app sent the browser to: its SQL is built once (config/compiled_queries.py).
_APPLICATION_OF_CLIENT = CompiledQuery(lambda client_id: first_row(Application.objects.filter(client_id=client_id)),
                                       "stand-in-client-id")


def source_for_authorize_url(next_url: str) -> str | None:
    """The redirect origin of an /oauth/authorize URL, if its client registered that redirect URI."""
    parsed = urlparse(next_url)
    if not parsed.path.startswith("/oauth/authorize"):
        return None
    query = parse_qs(parsed.query)
    client_id = (query.get("client_id") or [""])[0]
    redirect_uri = (query.get("redirect_uri") or [""])[0]
    application = _APPLICATION_OF_CLIENT.first(client_id) if client_id else None
    if application is None:
        return None
    if not redirect_uri:
        uris = application.redirect_uris.split()
        redirect_uri = uris[0] if len(uris) == 1 else ""
    if not redirect_uri or not application.redirect_uri_allowed(redirect_uri):
        return None
    return redirect_target_source(redirect_uri)


def allow_form_action(response, source: str | None):
    if source:
        response._csp_update = {"form-action": [source]}
    return response

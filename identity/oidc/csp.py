"""Content-Security-Policy form-action for pages whose POST ends in a redirect to an application.

Chromium applies form-action to every redirect that follows a form submission, so the sign-in and
consent pages must name the origin of the registered redirect URI they will end at.
"""

from urllib.parse import parse_qs, urlparse

from applications.selectors import application_by_client_id


def redirect_target_source(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return f"{parsed.scheme}://{parsed.netloc}"
    if parsed.scheme:
        return f"{parsed.scheme}:"  # a native app's private-use scheme
    return None


def source_for_authorize_url(next_url: str) -> str | None:
    """The redirect origin of an /oauth/authorize URL, if its client registered that redirect URI."""
    parsed = urlparse(next_url)
    if not parsed.path.startswith("/oauth/authorize"):
        return None
    query = parse_qs(parsed.query)
    client_id = (query.get("client_id") or [""])[0]
    redirect_uri = (query.get("redirect_uri") or [""])[0]
    application = application_by_client_id(client_id=client_id) if client_id else None
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

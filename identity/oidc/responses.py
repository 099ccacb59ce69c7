"""How /oauth/authorize answers the client: RFC 9207 `iss` on every response, in the response mode asked
for (query, fragment, or OAuth 2.0 Form Post), success and error alike.

Every answer to a client's redirect URI leaves AuthorizeView through `authorization_response`, so no
path (oauthlib's errors, DOT's login_required, our consent_required, a Deny on the consent page) can
forget the issuer or the mode.
"""

from urllib.parse import parse_qsl, urlencode, urlparse

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from oauth2_provider.http import OAuth2ResponseRedirect

from identity.oidc.csp import allow_form_action, redirect_target_source

RESPONSE_MODES = ("query", "fragment", "form_post")
DEFAULT_RESPONSE_MODE = "query"  # for response_type=code (OAuth 2.0 Multiple Response Types §2.1)

# The parameters an authorization response carries. Anything else in the URL belongs to the client's
# registered redirect URI and stays where it is.
_RESPONSE_PARAMS = frozenset({"code", "state", "iss", "error", "error_description", "error_uri"})


def response_mode_of(value: str | None) -> str:
    """The mode to answer in: the one asked for if supported, else the default (an unsupported mode is
    itself answered, as an error, in the default mode)."""
    return value if value in RESPONSE_MODES else DEFAULT_RESPONSE_MODE


def _split(uri: str) -> tuple[str, list[tuple[str, str]]]:
    """(the redirect URI without the response, the response's parameters) from a URL that oauthlib or
    DOT built in query or fragment form."""
    parsed = urlparse(uri)
    query = parse_qsl(parsed.query, keep_blank_values=True)
    fragment = parse_qsl(parsed.fragment, keep_blank_values=True)
    params = [(name, value) for name, value in [*query, *fragment] if name in _RESPONSE_PARAMS]
    kept = [(name, value) for name, value in query if name not in _RESPONSE_PARAMS]
    return parsed._replace(query=urlencode(kept), fragment="").geturl(), params


def authorization_response(request: HttpRequest, uri: str, *, mode: str, allowed_schemes: list[str]) -> HttpResponse:
    """The client's answer, built from the URL oauthlib or DOT made for it: `iss` added where missing,
    then delivered as a redirect (query or fragment) or as an auto-submitting form (form_post)."""
    base, params = _split(uri)
    params = [(name, value) for name, value in params if name != "iss"]
    params.append(("iss", settings.GATEHOUSE_ISSUER))
    if mode == "form_post":
        response = render(request, "identity/oidc/form_post.html", {"action": base, "params": params})
        response["Cache-Control"] = "no-store"  # it carries a code
        answer: HttpResponse = allow_form_action(response, redirect_target_source(base))
    elif mode == "fragment":
        answer = OAuth2ResponseRedirect(f"{base}#{urlencode(params)}", allowed_schemes)
    else:
        answer = OAuth2ResponseRedirect(f"{base}{'&' if '?' in base else '?'}{urlencode(params)}", allowed_schemes)
    return answer

"""What a URI registered on an application may be: redirect, post-logout and CORS origins, and the
back-channel logout URI. Services and forms ask here, so the console, the commands and the services say
the same thing."""

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from applications.models import Application
from config.exceptions import DomainError


def _uri_list(values, *, field: str) -> list[str]:
    """Stripped, non-empty, without white space: DOT stores these space-separated, so a URI with a
    space would silently become two."""
    values = [value.strip() for value in values]
    if any(not value or any(ch.isspace() for ch in value) for value in values):
        raise DomainError("A URI must not be empty or contain spaces.", field=field)
    return values


# Plain http is for a developer's own machine only (RFC 8252 §8.3, OAuth 2.0 Security BCP §4.1.1).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# A private-use scheme in reverse-domain form, e.g. com.example.app (RFC 8252 §7.1).
_REVERSE_DOMAIN_SCHEME = re.compile(r"^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$")
_URI_FIELD_LABELS = {"redirect_uris": "The redirect URI", "post_logout_redirect_uris": "The post-logout redirect URI",
                     "allowed_origins": "The origin"}


def _split_uri(uri: str) -> tuple[SplitResult, str | None] | None:
    """(the URI's parts, its host name), or None when it does not parse (a bad IPv6 host, a port that is
    not a number)."""
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        return None
    return parts, hostname


def _uri_problem(uri: str, *, kind: str, field: str) -> str | None:
    """Why `uri` may not be registered in `field` of a `kind` app, or None.

    https anywhere; http only on a loopback host; never a fragment or a wildcard; native apps may
    also use a reverse-domain private-use scheme for redirects. Origins are scheme://host[:port].
    """
    what = _URI_FIELD_LABELS.get(field, "URI")
    if "*" in uri:
        return f"{what} “{uri}”: wildcards are not allowed; register every URI exactly."
    if "#" in uri:
        return f"{what} “{uri}”: a URI must not contain a fragment (#…)."
    split = _split_uri(uri)
    if split is None:
        return f"{what} “{uri}” is not a valid URI."
    parts, hostname = split
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not hostname:
            return f"{what} “{uri}” has no host."
        if scheme == "http" and hostname.lower() not in LOOPBACK_HOSTS:
            return (f"{what} “{uri}”: use https. Plain http is allowed only for 127.0.0.1, [::1] or localhost.")
        if field == "allowed_origins" and (parts.path not in ("", "/") or parts.query):
            return f"{what} “{uri}”: an origin is scheme://host[:port], with no path or query."
        return None
    if (kind == Application.Kind.NATIVE and field != "allowed_origins"
            and _REVERSE_DOMAIN_SCHEME.match(scheme) and len(uri) > len(scheme) + 1):
        return None
    if kind == Application.Kind.NATIVE and field != "allowed_origins":
        return (f"{what} “{uri}”: use https, loopback http (127.0.0.1, [::1], localhost) or a reverse-domain "
                "scheme such as com.example.app:/callback.")
    return f"{what} “{uri}”: use https. Plain http is allowed only for 127.0.0.1, [::1] or localhost."


def uris_check(uris, *, kind: str, field: str) -> list[str]:
    """The URIs of one field, cleaned; the first that breaks the rules above raises DomainError.

    The console form calls this too, so the console and the API say the same thing.
    """
    uris = _uri_list(uris, field=field)
    for uri in uris:
        problem = _uri_problem(uri, kind=kind, field=field)
        if problem:
            raise DomainError(problem, field=field)
    return uris


BACKCHANNEL_LOGOUT_URI_MAX = 500  # the column's length


def _is_loopback_host(hostname: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (and names under it, which resolvers send to the same machine)."""
    hostname = hostname.lower().rstrip(".")
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def backchannel_logout_uri_problem(uri: str) -> str | None:
    """Why Gatehouse may not POST logout tokens to `uri`, or None.

    https, or http on a loopback host; no fragment (Back-Channel Logout 1.0 §2.2), no user:password,
    at most 500 characters. A loopback host (any scheme) makes Gatehouse POST to its own machine's
    ports, which an org admin must not be able to aim at: allowed only while
    GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK is on (by default, while the issuer itself is on loopback).
    Checked when registering and again before each delivery, so turning the setting off stops them.
    """
    what = "The back-channel logout URI"
    if len(uri) > BACKCHANNEL_LOGOUT_URI_MAX:
        return f"{what} is {len(uri)} characters long; at most {BACKCHANNEL_LOGOUT_URI_MAX} are allowed."
    if any(ch.isspace() for ch in uri):
        return f"{what} must not contain spaces."
    if "#" in uri:
        return f"{what} “{uri}” must not contain a fragment (#…)."
    split = _split_uri(uri)
    if split is None:
        return f"{what} “{uri}” is not a valid URI."
    parts, hostname = split
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not hostname:
        return f"{what} “{uri}” must be an https URL with a host."
    if parts.username is not None or parts.password is not None:
        return f"{what} “{uri}” must not contain a user name or password."
    loopback = _is_loopback_host(hostname)
    if scheme == "http" and not loopback:
        return f"{what} “{uri}”: use https. Plain http is allowed only for 127.0.0.1, [::1] or localhost."
    if loopback and not settings.GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK:
        return (f"{what} “{uri}” points at this server's own machine (a loopback host), which this "
                "deployment does not allow; use the app's public https address.")
    return None


def backchannel_logout_uri_check(uri: str | None, *, kind: str) -> str:
    uri = (uri or "").strip()
    if not uri:
        return ""
    if kind == Application.Kind.MACHINE:
        raise DomainError("A machine application signs no one in, so it takes no back-channel logout URI.",
                          field="backchannel_logout_uri")
    problem = backchannel_logout_uri_problem(uri)
    if problem:
        raise DomainError(problem, field="backchannel_logout_uri")
    return uri

"""A sweep over every URL the site routes, with junk and foreign ids: nothing may answer 500.

The test client re-raises any exception a view lets escape, so an unhandled error fails here even
before the status code is looked at. New pages join the sweep automatically.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter

from identity.services import session_sign_in_for_tests

pytestmark = pytest.mark.django_db

JUNK_BY_CONVERTER = {
    IntConverter: ["0", "999999999", "99999999999999999999999"],
    SlugConverter: ["nope", "acme-", "x" * 300, "globex"],
    StringConverter: ["nope", "%00", "..", "x" * 300, "globex", "' OR 1=1 --"],
    PathConverter: ["../../etc/passwd", "a/b/c"],
    UUIDConverter: ["00000000-0000-0000-0000-000000000000"],
}
RAW_JUNK_PATHS = [
    "/console/%00/", "/console/acme/%2e%2e/", "/console/ACME/", "/console/platform/orgs/%ff/suspend",
    "/login?next=%00", "/login?next=" + "a" * 5000, "/account/?x=%ff",
    "/oauth/authorize?client_id=%00&redirect_uri=javascript:alert(1)&response_type=code",
    "/oauth/authorize?client_id=hr-portal&redirect_uri=%ff&response_type=code&scope=openid&max_age=-1",
    "/oauth/authorize?client_id=x&redirect_uri=https://x.example/cb&response_type=code&prompt=none%20login",
    "/oauth/logout?id_token_hint=a.b.c&post_logout_redirect_uri=https://evil.example/",
    "/oauth/logout?id_token_hint=" + "x" * 5000, "/oauth/logout?client_id=%00",
    "/oauth/userinfo?access_token=nope", "/oauth/introspect?token=x",
    "/.well-known/jwks.json?x=%ff", "/.well-known/openid-configuration/..",
    "/login?prompt=login&next=/oauth/authorize%3Fclient_id%3D%2500",
]


def _named_patterns(patterns, namespace="", converters=None):
    # An include()'s own parameters (e.g. "<slug:org_slug>/emails/") count with its patterns'.
    converters = converters or {}
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _named_patterns(entry.url_patterns, ns, {**converters, **entry.pattern.converters})
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", {**converters, **entry.pattern.converters}


def _junk_urls():
    urls = []
    for name, converters in _named_patterns(get_resolver().url_patterns):
        if not converters:
            urls.append(reverse(name))
            continue
        # One URL per junk value, the other parameters filled with their first junk value.
        for param, converter in converters.items():
            for value in JUNK_BY_CONVERTER[type(converter)]:
                kwargs = {p: JUNK_BY_CONVERTER[type(c)][0] for p, c in converters.items()}
                kwargs[param] = value
                urls.append(reverse(name, kwargs=kwargs))
    return urls + RAW_JUNK_PATHS


@pytest.fixture
def users(org_admin, org_member, operator, other_org_admin):
    return {"anonymous": None, "acme admin": org_admin, "acme member": org_member, "operator": operator,
            "globex admin": other_org_admin}


def _signed_in(user) -> Client:
    client = Client()
    if user is not None:
        session_sign_in_for_tests(client=client, user=user)
    return client


def _signed_out(client: Client) -> bool:
    """Whether the last request ended the client's session (sign-out, "end other sessions" and the like
    clear the cookie): the rest of the sweep must not quietly run as an anonymous visitor."""
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    return cookie is None or not cookie.value


SLICES = 3


# One test per caller and slice of the URLs: the sweep is a fifth of the suite's time, and pieces of a few
# seconds let parallel workers (make test) finish together instead of one waiting on the last caller.
@pytest.mark.parametrize("part", range(SLICES))
@pytest.mark.parametrize("label", ["anonymous", "acme admin", "acme member", "operator", "globex admin"])
def test_every_url_with_junk_ids_never_errors(users, label, part):
    urls = _junk_urls()
    assert any(url.startswith("/console/") for url in urls[part::SLICES])
    user = users[label]
    client = _signed_in(user)
    failures = []
    for url in urls[part::SLICES]:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"reason": "x", "name": "", "slug": "%%"})
            if response.status_code >= 500:
                failures.append(f"{label} {method.upper()} {url} → {response.status_code}")
            if user is not None and _signed_out(client):
                client = _signed_in(user)
    assert failures == []


def test_globex_admin_never_sees_acme_pages(users):
    response = _signed_in(users["globex admin"]).get("/console/acme/")
    assert response.status_code == 404


def test_a_nul_where_an_org_or_client_is_named_is_a_plain_error_page_for_a_signed_in_admin(users):
    """Found by the sweep once it stayed signed in: PostgreSQL refuses to compare a NUL, and these two pages
    looked one up (the 404 page's org, the error page's branding)."""
    admin = _signed_in(users["acme admin"])
    not_found = admin.get("/console/%00/")
    assert not_found.status_code == 404
    assert "Page not found" in not_found.content.decode()
    refused = admin.get("/oauth/authorize?client_id=%00&redirect_uri=https://rp.example/cb&response_type=code"
                        "&scope=openid")
    assert refused.status_code == 400
    assert "This sign-in request cannot be processed" in refused.content.decode()

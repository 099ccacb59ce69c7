"""Template context: the console's org switcher, the layout of error pages, and the org branding of hosted pages."""

import re
from functools import partial

from django.urls import reverse
from django.urls.converters import SlugConverter

from identity.flows import flow_load
from orgs.branding import HostedBrand, hosted_brand_get
from orgs.models import Organization
from orgs.permissions import console_memberships, permissions_for

_BRAND_CACHE = "_gatehouse_hosted_brand"
_ERROR_ORG_CACHE = "_gatehouse_console_error_org"
CONSOLE_PREFIX = "/console/"
_SLUG = re.compile(SlugConverter.regex)  # what a console address may name as an org
_SLUG_MAX: int = Organization._meta.get_field("slug").max_length or 50
# A view that knows which org its hosted page speaks for sets this request attribute to the org's id.
HOSTED_ORG_ATTR = "hosted_org_id"


def console(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"error_layout": "layouts/hosted.html"}
    in_console = request.path.startswith(CONSOLE_PREFIX)
    return {
        # A 404 or 403 inside the console keeps the console's layout and navigation (404.html, 403.html).
        "error_layout": "layouts/console.html" if in_console else "layouts/hosted.html",
        # Callables: templates evaluate them only on pages that show the switcher or an error.
        "console_memberships": partial(console_memberships, user),
        "console_error_org": partial(_console_error_org, request),
    }


def _console_error_org(request) -> dict | None:
    """The org of a console address that ended in an error, with what the signed-in user may do there,
    so the error page's sidebar shows that org's links. None unless the user may open that org's console:
    an error page must not confirm that another tenant's org exists. Memoized on the request."""
    if hasattr(request, _ERROR_ORG_CACHE):
        return getattr(request, _ERROR_ORG_CACHE)
    found = None
    slug = request.path[len(CONSOLE_PREFIX):].split("/", 1)[0]
    # Only what a slug may hold is looked up: PostgreSQL refuses to compare a NUL (`/console/%00/`), which
    # would turn this 404 page into a 500.
    if _SLUG.fullmatch(slug) and len(slug) <= _SLUG_MAX and request.path.startswith(CONSOLE_PREFIX):
        seen = getattr(request, "console_org_seen", None)  # set by the view, if it got that far
        if seen is not None and seen.slug == slug:
            org, granted = seen.org, seen.permissions
        else:
            org = Organization.objects.filter(slug=slug).first()
            granted = permissions_for(user=request.user, org=org) if org is not None else frozenset()
        if granted:
            found = {"org": org, "permissions": granted}
    setattr(request, _ERROR_ORG_CACHE, found)
    return found


def hosted_brand_of(request) -> HostedBrand | None:
    """The org the hosted page speaks for: the one its view named, else the one whose application sent
    the browser here (the sign-in flow's org, or on /oauth/authorize the requesting client's org).
    Memoized on the request: one query at most."""
    if hasattr(request, _BRAND_CACHE):
        return getattr(request, _BRAND_CACHE)
    brand = None
    session = getattr(request, "session", None)
    flow = flow_load(session) if session is not None else None
    if (org_id := getattr(request, HOSTED_ORG_ATTR, None)) is not None:
        # A page about one org's invitation names that org itself (identity/views/invitation.py).
        brand = hosted_brand_get(org_id=org_id)
    elif flow is not None and flow.org_id is not None:
        brand = hosted_brand_get(org_id=flow.org_id)
    elif request.path == reverse("oidc:authorize"):
        client_id = request.GET.get("client_id") or request.POST.get("client_id") or ""
        brand = hosted_brand_get(client_id=client_id[:100])
    setattr(request, _BRAND_CACHE, brand)
    return brand


def hosted(request) -> dict:
    # A callable too: only layouts/hosted.html asks for it, so console pages never pay for it.
    return {"hosted_brand": partial(hosted_brand_of, request)}

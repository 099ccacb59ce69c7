"""Template context: the console's org switcher, and the org branding of hosted pages."""

from functools import partial

from django.urls import reverse

from identity.flows import flow_load
from orgs.branding import HostedBrand, hosted_brand_get
from orgs.permissions import console_memberships

_BRAND_CACHE = "_gatehouse_hosted_brand"
# A view that knows which org its hosted page speaks for sets this request attribute to the org's id.
HOSTED_ORG_ATTR = "hosted_org_id"


def console(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable: templates evaluate it only on pages that show the switcher.
    return {"console_memberships": partial(console_memberships, user)}


def _hosted_brand(request) -> HostedBrand | None:
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
    return {"hosted_brand": partial(_hosted_brand, request)}

"""The per-org stylesheet and logo behind the hosted pages: public, because sign-in needs them first.

An unknown org, a suspended org, no accent colour or no logo: 404, so a suspended org's look
disappears with its sign-in. Both are cached long; their URLs carry a version (?v=) that changes
with the content, so a change is seen at once.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from orgs.branding import COLOR_RE, stylesheet_render, stylesheet_version
from orgs.models import Organization, OrgLogo

ONE_YEAR = 365 * 24 * 3600


def _cached(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = f'"{etag}"'
    patch_cache_control(response, public=True, max_age=ONE_YEAR, immutable=True)
    return response


def _not_modified(request: HttpRequest, etag: str) -> bool:
    return f'"{etag}"' in request.headers.get("If-None-Match", "")


@require_safe
def org_stylesheet(request: HttpRequest, org_slug: str) -> HttpResponse:
    accent = (Organization.objects.filter(slug=org_slug, status=Organization.Status.ACTIVE)
              .values_list("accent_color", flat=True).first())
    accent = (accent or "").lower()
    # A value that reached the row around the service (the admin site, SQL) is not served at all.
    if not COLOR_RE.match(accent):
        raise Http404(_("No stylesheet for this organization."))
    etag = stylesheet_version(accent)
    if _not_modified(request, etag):
        return _cached(HttpResponse(status=304), etag)
    return _cached(HttpResponse(stylesheet_render(accent), content_type="text/css; charset=utf-8"), etag)


@require_safe
def org_logo(request: HttpRequest, org_slug: str) -> HttpResponse:
    logo = (OrgLogo.objects.filter(org__slug=org_slug, org__status=Organization.Status.ACTIVE)
            .only("content_type", "digest").first())
    if logo is None:
        raise Http404(_("No logo for this organization."))
    if _not_modified(request, logo.digest):
        return _cached(HttpResponse(status=304), logo.digest)
    # Only now the bytes; a revalidation never loads them.
    content = OrgLogo.objects.filter(pk=logo.pk).values_list("content", flat=True).first()
    response = HttpResponse(bytes(content), content_type=logo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Content-Disposition"] = 'inline; filename="logo"'
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return _cached(response, logo.digest)

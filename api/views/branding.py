"""/api/v1/orgs/{org}/branding/logo: the logo of the org's hosted pages — read, upload (the image itself as the
body), remove — through the console's services, so the same checks (PNG, JPEG or WebP decoded in full, at most
256 KB and 1024×1024 pixels, no SVG) and the same audit events."""

from typing import Any, ClassVar

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from api.parsers import LogoParser
from orgs.branding import LOGO_FORMATS, LOGO_MAX_BYTES, organization_logo_remove, organization_logo_set
from orgs.models import OrgLogo

NO_LOGO = "This organization has no logo."


class LogoSerializer(serializers.Serializer):
    content_type = serializers.ChoiceField(choices=sorted(LOGO_FORMATS.values()))
    width = serializers.IntegerField(help_text="Pixels.")
    height = serializers.IntegerField(help_text="Pixels.")
    bytes = serializers.IntegerField()
    digest = serializers.CharField(help_text="SHA-256 of the image, hex.")
    uploaded_at = serializers.DateTimeField()
    url = serializers.CharField(help_text="Where the hosted pages load it from (public).")


def logo_json(logo: OrgLogo, org_slug: str) -> dict[str, Any]:
    path = reverse("branding:logo", kwargs={"org_slug": org_slug}) + f"?v={logo.digest[:16]}"
    return {"content_type": logo.content_type, "width": logo.width, "height": logo.height,
            "bytes": len(logo.content), "digest": logo.digest, "uploaded_at": logo.uploaded_at,
            "url": settings.GATEHOUSE_ISSUER + path}


class OrgLogoView(ApiView):
    permissions: ClassVar[dict[str, str]] = {"GET": "org.view", "PUT": "settings.manage", "DELETE": "settings.manage"}
    parser_classes: ClassVar[list] = [LogoParser]
    max_body_bytes = LOGO_MAX_BYTES

    def _logo(self) -> OrgLogo:
        logo = OrgLogo.objects.filter(org=self.org).first()
        if logo is None:
            raise exceptions.NotFound(NO_LOGO)
        return logo

    @extend_schema(responses=LogoSerializer, operation_id="branding_logo_read", summary="The org's logo, if any")
    def get(self, request: Request, org_slug: str) -> Response:
        return Response(logo_json(self._logo(), self.org.slug))

    @extend_schema(
        request={content_type: OpenApiTypes.BINARY for content_type in sorted(LOGO_FORMATS.values())},
        responses=LogoSerializer, operation_id="branding_logo_set",
        summary=f"Upload the logo: the image itself as the body (PNG, JPEG or WebP, at most {LOGO_MAX_BYTES // 1024} "
                "KB and 1024×1024 pixels); replaces the current one")
    def put(self, request: Request, org_slug: str) -> Response:
        data = request.data if isinstance(request.data, bytes) else b""
        logo = organization_logo_set(org=self.org, actor=self.principal.actor, data=data, request=request)
        return Response(logo_json(logo, self.org.slug))

    @extend_schema(responses={204: None}, operation_id="branding_logo_remove",
                   summary="Remove the logo (the hosted pages show the name alone)")
    def delete(self, request: Request, org_slug: str) -> Response:
        if not organization_logo_remove(org=self.org, actor=self.principal.actor, request=request):
            raise exceptions.NotFound(NO_LOGO)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""The one base of every management API view: limits, caller, tenant, permission, ETags.

In order, before any handler runs: the body size, the per-IP rate limit (which also slows down anyone
guessing keys), authentication, the per-key rate limit, the tenant check, the declared permission.
A view cannot forget the tenant: `self.org` is the caller's org, never read from the URL; a URL naming
another org is a 404, as for an org that does not exist, before the permission is looked at (so a key
of another org learns nothing, not even whether it lacks a scope).
"""

import hashlib
import json
from typing import Any, ClassVar

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.principal import ApiPrincipal
from api.problems import PayloadTooLarge, PreconditionFailed
from api.throttling import RateLimit, rate_limit_headers, rate_limit_ip, rate_limit_key
from orgs.models import Organization

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiView(APIView):
    """Declare `permissions = {"GET": "members.view", "POST": "members.manage", …}` per method.

    Views whose URL carries `org_slug` act on `self.org`; `app_only` views need a caller bound to an
    application (`self.principal.application`); `platform_only` views need a platform key (no org).
    """

    permissions: ClassVar[dict[str, str]] = {}
    # Query parameters a GET may carry; anything else is a 400 naming it (a typo'd filter must not
    # silently return everything).
    query_params: ClassVar[frozenset[str]] = frozenset()
    app_only: ClassVar[bool] = False
    platform_only: ClassVar[bool] = False
    answers_methods: ClassVar[bool] = True  # False: the catch-all, where every method is a 404
    # A view that takes a bigger body than JSON needs (the logo upload) says how big; its parser enforces it too.
    max_body_bytes: ClassVar[int | None] = None

    org: Organization
    principal: ApiPrincipal

    def initial(self, request: Request, *args, **kwargs) -> None:
        self._rate_limits: list[RateLimit] = []
        length = request.META.get("CONTENT_LENGTH") or "0"
        limit = self.max_body_bytes or settings.GATEHOUSE_API_MAX_BODY_BYTES
        try:
            too_large = int(length) > limit
        except ValueError:
            too_large = True
        if too_large:
            raise PayloadTooLarge(f"The body may have at most {limit} bytes.")
        ip = getattr(request._request, "client_ip", "") or request.META.get("REMOTE_ADDR", "")
        self._rate_limits.append(rate_limit_ip(ip))
        # A method this address never takes is a 405 whoever asks: the schema is public, so it tells nothing.
        method = (request.method or "").lower()
        if self.answers_methods and (method not in self.http_method_names or not hasattr(self, method)):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def perform_authentication(self, request: Request) -> None:
        request.user  # noqa: B018 (authenticates, or raises a 401)
        principal = request.auth
        if not isinstance(principal, ApiPrincipal):
            raise exceptions.NotAuthenticated()
        self._rate_limits.append(rate_limit_key(principal.label))
        # Which credential acted (the key's id, name and prefix, or the client), on the request the services
        # pass to audit_record, which records it in the event's metadata beside the actor (docs/api.md).
        request._request.api_credential = principal.credential
        self.principal = principal
        # A platform key (org None) reaches the platform endpoints only; an org's key never reaches them.
        # Both miss with the 404 of a path that is not there: neither learns what the other kind could do.
        if self.platform_only != (principal.org is None):
            raise exceptions.NotFound("There is nothing at this address for this key.")
        if principal.org is not None:
            self.org = principal.org
        slug = self.kwargs.get("org_slug")
        if slug is not None and principal.org is not None and slug != principal.org.slug:
            raise exceptions.NotFound("No such organization.")
        if self.app_only and principal.application is None:
            raise exceptions.PermissionDenied(
                "Only an application may call this: use a key bound to an application, or its client credentials.",
                code="application_required")

    def check_permissions(self, request: Request) -> None:
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        needed = self.permissions.get(method or "")
        if needed is None:
            raise exceptions.MethodNotAllowed(request.method)
        if not self.principal.has(needed):
            raise exceptions.PermissionDenied(f"This key lacks the scope {needed}.", code="missing_scope")
        if method == "GET":
            unknown = sorted(set(request.query_params) - self.query_params)
            if unknown:
                raise exceptions.ValidationError({unknown[0]: [f"Unknown query parameter; known ones: "
                                                               f"{', '.join(sorted(self.query_params)) or 'none'}."]})
            # DRF reads an empty query value as "not given"; the schema says a value is not empty, and a
            # `cursor=` from a broken client must not quietly restart the list from the top.
            empty = sorted(name for name, values in request.query_params.lists() if "" in values)
            if empty:
                raise exceptions.ValidationError({empty[0]: ["Empty value: give one, or leave the parameter out."]})

    def check_throttles(self, request: Request) -> None:
        refused = [limit for limit in self._rate_limits if not limit.allowed]
        if refused:
            raise exceptions.Throttled(wait=max(limit.reset for limit in refused))

    def handle_exception(self, exc: Exception) -> Response:
        # A 429 found before authentication (per IP) must not be hidden by a 401 raised after it.
        limits = getattr(self, "_rate_limits", [])
        refused = [limit for limit in limits if not limit.allowed]
        if refused and not isinstance(exc, exceptions.Throttled | PayloadTooLarge):
            exc = exceptions.Throttled(wait=max(limit.reset for limit in refused))
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in rate_limit_headers(getattr(self, "_rate_limits", [])).items():
            response[name] = value
        return response

    # ---------------------------------------------------------------------------------------- ETags

    @staticmethod
    def etag(representation: Any) -> str:
        """A strong ETag: the SHA-256 of the resource's JSON as this API shows it. Any change a client could
        see changes it; nothing else does."""
        canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str)
        return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'

    def if_match(self, request: Request, representation: Any) -> None:
        """412 when `If-Match` names another version than the current one (`*` matches any)."""
        header = request.META.get("HTTP_IF_MATCH")
        if header is None:
            return
        wanted = {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
        if "*" in wanted:
            return
        if self.etag(representation) not in wanted:
            raise PreconditionFailed()

    def with_etag(self, response: Response, representation: Any) -> Response:
        response["ETag"] = self.etag(representation)
        return response


class NotFoundView(ApiView):
    """Every /api/ path that names nothing: a problem+json 404, rate-limited like the rest, and no hint
    whether a key is needed there."""

    authentication_classes: ClassVar[list] = []
    answers_methods = False

    def perform_authentication(self, request: Request) -> None:
        return None

    def check_permissions(self, request: Request) -> None:
        raise exceptions.NotFound("There is nothing at this address. The API's paths are in /api/v1/schema.")

"""A shorter middleware chain for the OAuth endpoints that machines call.

The token, userinfo, introspection and revocation endpoints are called by relying parties and
machines with client credentials or a bearer token, never with a browser session, and are CSRF-exempt.
The session, authentication, user-session, CSRF, messages, locale and static-file middleware have
nothing to do there but cost a few hundred microseconds a request, so `OAuthEndpointMiddleware`,
first in MIDDLEWARE, sends those requests through settings.GATEHOUSE_OAUTH_API_MIDDLEWARE instead (the
rest: security headers, client IP, CommonMiddleware, X-Frame-Options, CSP). Every other request goes
down the full chain unchanged. Tests reach both chains through the test client and the live server.
"""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.urls import reverse
from django.utils.module_loading import import_string


class _ShortChainHandler(BaseHandler):
    """Django's handler with its middleware list given rather than read from settings.MIDDLEWARE
    (BaseHandler.load_middleware, synchronous case); its chain ends in the same URL resolution and
    view call (BaseHandler._get_response)."""

    def __init__(self, middleware_paths: list[str]):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(middleware_paths):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class OAuthEndpointMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.short_chain = _ShortChainHandler(settings.GATEHOUSE_OAUTH_API_MIDDLEWARE)._middleware_chain
        self._paths: frozenset[str] | None = None  # resolved on first use, once the URLconf loads

    def __call__(self, request):
        paths = self._paths
        if paths is None:
            paths = self._paths = frozenset(reverse(name) for name in settings.GATEHOUSE_OAUTH_API_URL_NAMES)
        if request.path in paths:
            return self.short_chain(request)
        return self.get_response(request)

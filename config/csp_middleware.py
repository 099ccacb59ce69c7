"""django-csp's middleware, with the policy built once for the responses that all get the same one.

django-csp builds both headers from the whole CONTENT_SECURITY_POLICY setting for every response
(~25 µs a response, a few per cent of a token request). A response that carries no policy of its own
(no @csp_update / @csp_replace / @csp override attributes) to a request whose nonce was never asked
for gets exactly the policy of the settings: here those strings are built once, and again when the
settings change. Every other response goes through django-csp unchanged, and the header rules
(exempt responses, a header already set, excluded URL prefixes, DEBUG error pages) are django-csp
4's. config/tests/test_csp_middleware.py compares the two on each case.
"""

import functools
import http.client as http_client

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed

# What a view's decorators leave on a response to change its policy.
_PER_RESPONSE = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro",
                 "_csp_replace_ro")
_DEBUG_PAGES = (http_client.INTERNAL_SERVER_ERROR, http_client.NOT_FOUND)


@functools.cache
def default_policies() -> tuple[str, str]:
    """(Content-Security-Policy, Content-Security-Policy-Report-Only) as the settings give them."""
    return build_policy(), build_policy(report_only=True)


@functools.cache
def _header_rules() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, value, the response attribute that exempts it, URL prefixes left without it), each header."""
    def excluded(setting: str) -> tuple[str, ...]:
        return tuple((getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ())

    policy, report_only = default_policies()
    return ((HEADER, policy, "_csp_exempt", excluded("CONTENT_SECURITY_POLICY")),
            (HEADER_REPORT_ONLY, report_only, "_csp_exempt_ro", excluded("CONTENT_SECURITY_POLICY_REPORT_ONLY")))


def _forget_policies(*, setting, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        default_policies.cache_clear()
        _header_rules.cache_clear()


setting_changed.connect(_forget_policies)


class CSPMiddleware(DjangoCSPMiddleware):
    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None
                or any(hasattr(response, name) for name in _PER_RESPONSE)):
            return super().process_response(request, response)
        if response.status_code in _DEBUG_PAGES and settings.DEBUG:
            return response
        for header, value, exempt, excluded_prefixes in _header_rules():
            if (value and header not in response and getattr(response, exempt, False) is False
                    and not request.path_info.startswith(excluded_prefixes)):
                response[header] = value
        # As django-csp: once the header is written, asking for a nonce is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

"""config.csp_middleware.CSPMiddleware sets the headers django-csp's own middleware sets."""

import pytest
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from config.csp_middleware import CSPMiddleware

HEADERS = (HEADER, HEADER_REPORT_ONLY)


def _answer(middleware_class, path="/console/", *, status=200, nonce=False, **response_attrs):
    def view(request):
        if nonce:
            str(request.csp_nonce)  # a template asked for the nonce
        response = HttpResponse(status=status)
        for name, value in response_attrs.items():
            setattr(response, name, value)
        return response

    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    return {name: response.get(name) for name in HEADERS}, request


CASES = {
    "plain": {},
    "a view's update": {"_csp_update": {"form-action": ["https://rp.example"]}},
    "a view's replace": {"_csp_replace": {"img-src": ["https://cdn.example"]}},
    "a view's config": {"_csp_config": {"default-src": ["'none'"]}},
    "exempt": {"_csp_exempt": True},
    "report-only exempt": {"_csp_exempt_ro": True},
    "nonce asked for": {"nonce": True},
    "not found": {"status": 404},
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_headers_as_django_csp(case):
    ours, _ = _answer(CSPMiddleware, **CASES[case])
    theirs, _ = _answer(DjangoCSPMiddleware, **CASES[case])
    assert ours == theirs
    if case == "plain":
        assert "frame-ancestors 'none'" in ours[HEADER]


def test_settings_changes_are_followed(settings):
    before, _ = _answer(CSPMiddleware)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]},
                                                    "EXCLUDE_URL_PREFIXES": ["/excluded/"]}
    after, _ = _answer(CSPMiddleware)
    assert after != before
    assert after == _answer(DjangoCSPMiddleware)[0]
    assert after[HEADER] == "default-src 'none'"
    assert after[HEADER_REPORT_ONLY] == "default-src 'self'"
    excluded, _ = _answer(CSPMiddleware, "/excluded/page")
    assert excluded == _answer(DjangoCSPMiddleware, "/excluded/page")[0]
    assert excluded[HEADER_REPORT_ONLY] is None


def test_debug_error_pages_get_no_header(settings):
    settings.DEBUG = True
    for status in (404, 500):
        assert _answer(CSPMiddleware, status=status)[0] == _answer(DjangoCSPMiddleware, status=status)[0] \
            == {HEADER: None, HEADER_REPORT_ONLY: None}


def test_asking_for_the_nonce_after_the_header_is_an_error():
    from csp.exceptions import CSPNonceError

    _, request = _answer(CSPMiddleware)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)

"""Project-wide middleware."""

from config.client_ip import client_ip


class ClientIPMiddleware:
    """Sets request.client_ip once, so every throttle, allow-list and audit row agrees on it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_ip(request.META)
        return self.get_response(request)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response that says nothing about caching itself.

    Tokens, userinfo, introspection, console pages, exports and account pages carry personal data
    that no browser or proxy cache may keep; a response that may be cached says so itself
    (discovery, JWKS, branding assets; whitenoise answers static files before this runs).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

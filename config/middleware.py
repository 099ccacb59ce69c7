"""Project-wide middleware."""

from config.client_ip import client_ip


class ClientIPMiddleware:
    """Sets request.client_ip once, so every throttle, allow-list and audit row agrees on it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_ip(request.META)
        return self.get_response(request)

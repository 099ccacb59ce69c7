"""CORS for browser apps: the token, userinfo and revocation endpoints answer the origins that a
single-page application registered, and no others."""

from functools import wraps

from django.http import HttpResponse

from applications.models import Application

PREFLIGHT_MAX_AGE = "600"


def origin_is_registered(origin: str) -> bool:
    if not origin or origin == "null":
        return False
    candidates = Application.objects.filter(
        kind=Application.Kind.SPA, status=Application.Status.ACTIVE, allowed_origins__contains=origin
    ).values_list("allowed_origins", flat=True)
    return any(origin in allowed.split() for allowed in candidates)


def with_registered_cors(view):
    """Answer preflights, and add Access-Control-Allow-Origin for registered origins only."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        origin = request.META.get("HTTP_ORIGIN", "")  # request.headers would copy every header first
        allowed = origin_is_registered(origin)
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            if allowed:
                response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
                response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = view(request, *args, **kwargs)
        if allowed:
            response["Access-Control-Allow-Origin"] = origin
        elif "Access-Control-Allow-Origin" in response and response["Access-Control-Allow-Origin"] != "*":
            del response["Access-Control-Allow-Origin"]
        response["Vary"] = "Origin"
        return response

    return wrapped

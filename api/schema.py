"""What drf-spectacular needs to describe the API: how callers authenticate, and that every error is a problem."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    # One scheme: with two alternatives a client (or schemathesis) reads either header as required. The
    # X-Api-Key header works the same way (docs/api.md).
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "ghk_… API key",
                "description": "An API key in `Authorization: Bearer ghk_…` (or the same key in `X-Api-Key`)."}


# Every status the base view or the exception handler may answer, on any operation (api/base.py).
_ERRORS = {
    "400": "Bad input: malformed JSON, unknown or wrongly typed fields, a bad filter, page size or cursor.",
    "401": "No credential, or one that is not valid (unknown, expired, revoked, deactivated).",
    "403": "The key lacks the scope, may not be used from this address, or a rule refuses the change.",
    "404": "Nothing here, or it belongs to another organization.",
    "405": "The method is not allowed here.",
    "406": "The Accept header asks for a format this API does not speak.",
    "409": "The change conflicts with the current state (e.g. a duplicate).",
    "412": "If-Match names an older version than the current one.",
    "413": "The body is too large.",
    "415": "The body is not in a format this operation reads: JSON (an image for the logo upload).",
    "429": "Too many requests: wait Retry-After seconds.",
}
_RATE_LIMIT_HEADERS = {
    name: {"schema": {"type": "string" if name == "RateLimit-Policy" else "integer"}, "description": description}
    for name, description in (
        ("RateLimit-Limit", "Requests allowed per window (draft-ietf-httpapi-ratelimit-headers-06)."),
        ("RateLimit-Remaining", "Requests left in this window."),
        ("RateLimit-Reset", "Seconds until the window ends."),
        ("RateLimit-Policy", "The limit and its window, e.g. 600;w=60."),
    )
}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An error (RFC 9457 problem details).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "A stable machine name, e.g. missing_scope, stale_etag."},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "pointer", "detail"],
            "properties": {"field": {"type": "string"}, "pointer": {"type": "string"}, "detail": {"type": "string"}}}},
    },
}


def add_problem_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: every operation documents its problem+json errors and the
    RateLimit headers, so a client (and schemathesis) knows every answer it may get."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for response in responses.values():
                response.setdefault("headers", {}).update(_RATE_LIMIT_HEADERS)
            for code, description in _ERRORS.items():
                responses.setdefault(code, {"description": description, "content": problem,
                                            "headers": dict(_RATE_LIMIT_HEADERS)})
            responses["429"]["headers"]["Retry-After"] = {"schema": {"type": "integer"},
                                                          "description": "Seconds to wait."}
    return result

"""Every API error as `application/problem+json` (RFC 9457): one exception handler for DRF's errors, the
domain's and Django's, so 400/401/403/404/405/412/413/415/429 all read the same.

A problem carries `type` (about:blank: the status says it all), `title` (the status phrase), `status`,
`detail` (a sentence a person can act on), `code` (a stable machine name) and, for bad input, `errors`:
one entry per field with a JSON pointer into the request body.
"""

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from config.exceptions import AlreadyExists, DomainError, NotAllowed

PROBLEM_CONTENT_TYPE = "application/problem+json"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it: read it again and retry with its new ETag."
    default_code = "stale_etag"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the resource's current state."
    default_code = "conflict"


# DRF's generic messages, said so a person knows what to do.
_DETAILS = {
    "not_authenticated": "Send an API key in `Authorization: Bearer ghk_…` or `X-Api-Key`, or an access token "
                         "for the management API.",
    "unsupported_media_type": "Send the body as JSON, with `Content-Type: application/json`.",
    "parse_error": "The body is not valid JSON.",
}


def _pointer(path: list[str]) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path) if path else "#"


def _field_errors(detail: Any, path: list[str] | None = None) -> list[dict[str, str]]:
    """DRF's nested ValidationError detail flattened to [{field, pointer, detail}], in the body's order."""
    path = path or []
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            errors.extend(_field_errors(value, [*path, str(key)] if key != "non_field_errors" else path))
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": ".".join(path), "pointer": _pointer(path), "detail": str(item)} for item in detail]
        errors = []
        for index, item in enumerate(detail):
            errors.extend(_field_errors(item, [*path, str(index)]))
        return errors
    return [{"field": ".".join(path), "pointer": _pointer(path), "detail": str(detail)}]


def problem_response(*, status_code: int, detail: str, code: str, errors: list | None = None,
                     headers: dict[str, str] | None = None, instance: str = "") -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    response = Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


def _domain_problem(exc: DomainError) -> tuple[int, str, list]:
    errors = [{"field": exc.field, "pointer": _pointer([exc.field]), "detail": exc.message}] if exc.field else []
    if isinstance(exc, AlreadyExists):
        return status.HTTP_409_CONFLICT, "already_exists", errors
    if isinstance(exc, NotAllowed):
        return status.HTTP_403_FORBIDDEN, "not_allowed", errors
    return status.HTTP_400_BAD_REQUEST, "invalid", errors


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Anything it does not know stays unhandled (a bug to fix, not to hide)."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, DomainError):
        status_code, code, errors = _domain_problem(exc)
        return problem_response(status_code=status_code, detail=exc.message, code=code, errors=errors,
                                instance=instance)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) else None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) if str(exc) else None)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait)))
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        return problem_response(status_code=exc.status_code, code="invalid", errors=errors, headers=headers,
                                instance=instance,
                                detail="The request has invalid fields: " + ", ".join(
                                    sorted({error["field"] or "(body)" for error in errors})) + ".")
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    detail = exc.detail if isinstance(exc.detail, str) else exc.default_detail
    detail = _DETAILS.get(code, str(detail)) if str(detail) == str(exc.default_detail) else str(detail)
    if isinstance(exc, exceptions.Throttled):
        detail = f"Too many requests; retry in {headers.get('Retry-After', '1')} seconds."
        code = "rate_limited"
    return problem_response(status_code=exc.status_code, detail=detail, code=str(code), headers=headers,
                            instance=instance)

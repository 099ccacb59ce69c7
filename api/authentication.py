"""Who is calling: an API key (`Authorization: Bearer ghk_…` or `X-Api-Key: ghk_…`), or a machine
application's access token for the management API (`Authorization: Bearer <jwt>`, api/tokens.py).

The key is found by its prefix and checked with one SHA-256 (applications/apikey_selectors.py): no slow
hash on this path. The result is an `ApiPrincipal` in `request.auth`: the org the caller belongs to,
what it may do there, and the person the services record as the actor.
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from api.principal import ApiPrincipal
from api.tokens import token_principal
from applications.apikey_selectors import KeyProblem, api_key_check
from applications.apikey_services import KEY_MARKER

KEY_HEADER = "HTTP_X_API_KEY"

_REFUSALS = {
    KeyProblem.INVALID: "The API key is not valid.",
    KeyProblem.REVOKED: "The API key was revoked.",
    KeyProblem.EXPIRED: "The API key has expired.",
    KeyProblem.DEACTIVATED: "The API key is deactivated; an admin can reactivate it.",
    KeyProblem.ORG_SUSPENDED: "The organization of this API key is suspended.",
    KeyProblem.APP_DISABLED: "The application this API key belongs to is disabled.",
}


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_code = "invalid_credentials"


class AddressRefused(exceptions.PermissionDenied):
    default_detail = "This API key may not be used from your address."
    default_code = "address_refused"


def _allowlist_required_detail(key) -> str:
    """A key refused for having no allow-list: the same code as any refused address (no address may use it),
    with who requires it and the way out."""
    whose = "This organization" if key.org is not None and key.org.api_keys_require_allowlist else "This Gatehouse"
    return (f"{whose} requires every API key to have an IP allow-list, and this key has none, so no address may "
            "use it. Create a key that lists the addresses it is used from.")


def presented_key(request) -> str | None:
    """The raw credential: the `X-Api-Key` header, or the Bearer value of `Authorization`."""
    key = request.META.get(KEY_HEADER)
    if key is not None:
        return key.strip()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = presented_key(request)
        if raw is None:
            return None
        if not raw.startswith(KEY_MARKER) and raw.count(".") == 2:
            # A JWT: a machine application's token for the management API (api/tokens.py).
            principal = token_principal(raw)
            if principal is None:
                raise InvalidCredentials("The access token is not valid for this management API.",
                                         code="token_invalid")
            return None, principal
        ip = getattr(request._request, "client_ip", None) or request.META.get("REMOTE_ADDR", "")
        check = api_key_check(raw_key=raw, ip=ip)
        if check.problem == KeyProblem.IP_REFUSED:
            raise AddressRefused()
        if check.problem == KeyProblem.ALLOWLIST_REQUIRED:
            raise AddressRefused(_allowlist_required_detail(check.key))
        if check.problem is not None:
            raise InvalidCredentials(_REFUSALS[check.problem], code=f"key_{check.problem}")
        key = check.key
        principal = ApiPrincipal(org=key.org, permissions=check.permissions, actor=key.created_by,
                                 api_key=key, application=key.application, label=f"api_key:{key.prefix}")
        return key.created_by, principal

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="gatehouse"'

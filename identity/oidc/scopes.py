"""The scopes an application may ask for: OpenID Connect's (to sign a person in) and the API scopes it is
granted. Client credentials never carry an OpenID Connect scope: there is no person to describe."""

from typing import Any

from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings

from identity.oidc.resources import granted_api_scopes


class _Described(dict[str, str]):
    """Scope descriptions: OpenID Connect's from settings; an API scope's is looked up per application by
    the consent page (identity.oidc.authorize), so here it only must not be missing."""

    def __missing__(self, scope: str) -> str:
        return scope


class GatehouseScopes(SettingsScopes):  # type: ignore[misc]  # DOT ships no type information
    def get_all_scopes(self) -> dict[str, str]:
        return _Described(oauth2_settings.SCOPES)

    def get_available_scopes(self, application: Any = None, request: Any = None, *args: Any,
                             **kwargs: Any) -> list[str]:
        machine = getattr(request, "grant_type", None) == "client_credentials"
        oidc = [] if machine else list(oauth2_settings._SCOPES)
        if application is None:
            return oidc
        return oidc + list(granted_api_scopes(application, request))

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any,
                           **kwargs: Any) -> list[str]:
        if getattr(request, "grant_type", None) == "client_credentials":
            return []
        return list(oauth2_settings._DEFAULT_SCOPES)

"""Per-application OAuth policy that DOT reads through settings callables.

Imported by settings, so it loads models only when called."""


def pkce_required(client_id: str) -> bool:
    """Public clients always; a web app when registered with require_pkce; unknown ids: yes."""
    from applications.models import Application

    app = Application.objects.filter(client_id=client_id).only("client_type", "require_pkce").first()
    return True if app is None else pkce_required_for(app)


def pkce_required_for(app) -> bool:
    """pkce_required for an application already loaded (the validator has it by then)."""
    if app.client_type == app.CLIENT_PUBLIC:
        return True
    return app.require_pkce


def access_token_lifetime(request) -> int:
    """Seconds an access token lives: the lifetime of the API it is for (set on the request as
    `gatehouse_target` by identity.oidc.validator), else the application's own, else the deployment's
    default."""
    from django.conf import settings

    target = getattr(request, "gatehouse_target", None)
    if target is not None:
        return target.api.access_token_lifetime
    default = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
    client = getattr(request, "client", None)
    return getattr(client, "access_token_lifetime", None) or default

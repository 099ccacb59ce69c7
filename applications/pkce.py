"""Which clients must use PKCE. Imported by settings, so it loads models only when called."""


def pkce_required(client_id: str) -> bool:
    """Public clients always; a web app when registered with require_pkce; unknown ids: yes."""
    from applications.models import Application

    app = Application.objects.filter(client_id=client_id).only("client_type", "require_pkce").first()
    if app is None or app.client_type == Application.CLIENT_PUBLIC:
        return True
    return app.require_pkce

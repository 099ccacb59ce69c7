"""Machine applications' client-credentials tokens for Gatehouse's own management API.

An org opts in by registering its management API as an ordinary registered API (console → APIs, or
`manage.py create_api`): identifier `<GATEHOUSE_ISSUER>/api/v1/orgs/<slug>`, JWT tokens, scopes named
after the console's permissions (`members.view`, `groups.manage`, …). A machine application of the org is
granted some of those scopes, asks /oauth/token for a client-credentials token with that `resource`, and
sends it as `Authorization: Bearer <jwt>`. Accepted when: Gatehouse signed it (identity.oidc.access_tokens
verified_claims: signature, issuer, expiry), its audience is that org's management API as the org itself
registered it, and its client is a machine application of that org, active in an active org. It holds the
token's scopes that are console permissions, never the owner-only ones (granting API scopes to an
application is an admin's act, so a token must not reach beyond an admin).
"""

from api.principal import ApiPrincipal
from applications.api_services import management_api_identifier
from applications.models import Api, Application
from identity.oidc.access_tokens import verified_claims
from orgs.permissions import MANAGE_PERMISSIONS, VIEW_PERMISSIONS

TOKEN_PERMISSIONS = VIEW_PERMISSIONS | MANAGE_PERMISSIONS


def token_principal(raw: str) -> ApiPrincipal | None:
    """The principal a management-API access token stands for, or None (not ours, expired, another
    audience, an API not registered by that org, a client that is not its active machine application)."""
    claims = verified_claims(raw)
    if claims is None:
        return None
    audience, client_id = claims.get("aud"), claims.get("client_id")
    prefix = management_api_identifier("")
    if not isinstance(audience, str) or not audience.startswith(prefix) or not isinstance(client_id, str):
        return None
    slug = audience.removeprefix(prefix)
    api = Api.objects.select_related("org").filter(identifier=audience, org__slug=slug).first()
    if api is None or not api.org.is_active:
        return None
    application = (Application.objects.for_org(api.org).filter(client_id=client_id, kind=Application.Kind.MACHINE,
                                                               status=Application.Status.ACTIVE).first())
    if application is None:
        return None
    scope = claims.get("scope")
    permissions = frozenset(scope.split() if isinstance(scope, str) else ()) & TOKEN_PERMISSIONS
    return ApiPrincipal(org=api.org, permissions=permissions, actor=None, application=application,
                        label=f"client:{client_id}")

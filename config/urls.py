"""URL map: hosted pages at the root, OAuth under /oauth/, discovery and JWKS under /.well-known/,
the console under /console/, health probes under /health/."""

from django.urls import include, path

from config import health
from identity.jwks import jwks
from identity.oidc.endpoints import discovery

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path(".well-known/openid-configuration", discovery, name="discovery"),
    path(".well-known/jwks.json", jwks, name="jwks"),
    path("oauth/", include("identity.oidc.urls")),
    path("console/", include("orgs.urls")),
    path("branding/", include("orgs.branding_urls")),
    path("api/", include("api.urls")),
    path("account/security/", include("identity.mfa.urls")),
    path("passkeys/", include("identity.passkeys.urls")),
    path("", include("identity.urls")),
]

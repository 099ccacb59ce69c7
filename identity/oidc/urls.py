"""OAuth endpoints under /oauth/; discovery and JWKS are mounted at /.well-known/ by config/urls.py."""

from django.urls import path

from identity.oidc import endpoints, introspection
from identity.oidc.authorize import AuthorizeView
from identity.oidc.cors import with_registered_cors
from security.client_auth_throttle import with_client_auth_throttle

app_name = "oidc"
urlpatterns = [
    path("authorize", AuthorizeView.as_view(), name="authorize"),
    path("token", with_registered_cors(with_client_auth_throttle(endpoints.TokenView.as_view())), name="token"),
    path("userinfo", with_registered_cors(endpoints.userinfo), name="userinfo"),
    path("revoke", with_registered_cors(with_client_auth_throttle(endpoints.RevokeView.as_view())), name="revoke"),
    path("introspect", with_client_auth_throttle(introspection.introspect), name="introspect"),
    path("logout", endpoints.LogoutView.as_view(), name="logout"),
]

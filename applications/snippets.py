"""Integration snippets for an application's or a registered API's console page, one set per kind.

Each snippet is filled with the object's own values (issuer, client id, first redirect URI, scopes, API
audience) and never with a secret: a confidential client reads its secret from the environment, and the
page says where that value comes from. Values are quoted for the language they land in (json.dumps makes
a string literal valid in Python, JavaScript, Kotlin and Swift; shlex.quote for the shell), and the
templates render the result with Django's auto-escaping.
"""

import json
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from applications.api_selectors import application_api_scopes
from applications.models import Api, Application

DEFAULT_SIGN_IN_SCOPES = "openid profile email"
SECRET_VARIABLE = "OIDC_CLIENT_SECRET"
LOOPBACK_HOSTS = {"127.0.0.1", "[::1]", "::1", "localhost"}


def _q(value: str) -> str:
    """A double-quoted string literal for Python, JavaScript, Kotlin or Swift."""
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    discovery: str
    authorize: str
    token: str
    userinfo: str
    jwks: str
    logout: str
    introspect: str


def endpoints() -> Endpoints:
    """The URLs this deployment serves: the issuer is its origin (DESIGN.md), the rest hang off it."""
    issuer = settings.GATEHOUSE_ISSUER
    return Endpoints(
        issuer=issuer, discovery=issuer + reverse("discovery"), authorize=issuer + reverse("oidc:authorize"),
        token=issuer + reverse("oidc:token"), userinfo=issuer + reverse("oidc:userinfo"),
        jwks=issuer + reverse("jwks"), logout=issuer + reverse("oidc:logout"),
        introspect=issuer + reverse("oidc:introspect"),
    )


def sign_in_scope(application: Application) -> str:
    """The scopes a sign-in app asks for: only those it is allowed, or another would be refused."""
    return application.allowed_scopes or DEFAULT_SIGN_IN_SCOPES


def integration_snippets(application: Application) -> dict:
    """The context for the app's integration panel: its values and the snippets for its kind."""
    urls = endpoints()
    redirect_uris = application.redirect_uris.split()
    logout_uris = application.post_logout_redirect_uris.split()
    api_access = application_api_scopes(application=application)
    values = {
        "issuer": urls.issuer, "discovery_url": urls.discovery, "client_id": application.client_id,
        "redirect_uri": redirect_uris[0] if redirect_uris else "",
        "post_logout_uri": logout_uris[0] if logout_uris else "",
        "scope": sign_in_scope(application),
        # One token is for one API: a snippet asks for the first granted API's scopes with its identifier.
        "api": api_access[0][0] if api_access else None,
        "api_scope": " ".join(s.name for s in api_access[0][1]) if api_access else "",
    }
    builders = {
        Application.Kind.WEB: _web_snippets, Application.Kind.SPA: _spa_snippets,
        Application.Kind.NATIVE: _native_snippets, Application.Kind.MACHINE: _machine_snippets,
    }
    snippets = builders[Application.Kind(application.kind)](urls, values)
    if application.kind in (Application.Kind.SPA, Application.Kind.NATIVE):
        values["scope"] = _spa_scope(values)  # what their snippets ask for, API scopes included
    return {**values, "secret_variable": SECRET_VARIABLE, "snippets": snippets,
            "snippet_template": f"applications/partials/snippets/{application.kind}.html"}


def _env(urls: Endpoints, v: dict, *, confidential: bool) -> str:
    lines = [f"OIDC_ISSUER={urls.issuer}", f"OIDC_DISCOVERY_URL={urls.discovery}", f"OIDC_CLIENT_ID={v['client_id']}"]
    if confidential:
        lines.append(f"{SECRET_VARIABLE}=<the secret shown once at creation or rotation>")
    if v["redirect_uri"]:
        lines.append(f"OIDC_REDIRECT_URI={v['redirect_uri']}")
    return "\n".join(lines)


def _web_snippets(urls: Endpoints, v: dict) -> dict[str, str]:
    register = (
        "    name=\"gatehouse\",\n"
        f"    server_metadata_url={_q(urls.discovery)},\n"
        f"    client_id={_q(v['client_id'])},\n"
        f"    client_secret=os.environ[{_q(SECRET_VARIABLE)}],\n"
        f"    client_kwargs={{\"scope\": {_q(v['scope'])}, \"code_challenge_method\": \"S256\"}},\n"
    )
    flask = (
        "import os\n\nfrom authlib.integrations.flask_client import OAuth\nfrom flask import redirect, session\n\n"
        f"oauth = OAuth(app)\noauth.register(\n{register})\n\n\n"
        "@app.route(\"/login\")\ndef login():\n"
        f"    return oauth.gatehouse.authorize_redirect({_q(v['redirect_uri'])})\n\n\n"
        f"@app.route({_q(urlsplit(v['redirect_uri']).path or '/callback')})\ndef callback():\n"
        "    token = oauth.gatehouse.authorize_access_token()\n"
        "    session[\"user\"] = token[\"userinfo\"]  # the ID token's verified claims\n"
        "    session[\"id_token\"] = token[\"id_token\"]\n"
        "    return redirect(\"/\")"
    )
    if v["post_logout_uri"]:
        # RP-initiated logout: Gatehouse ends its session too, then sends the browser back.
        flask += (
            "\n\n\n@app.route(\"/logout\", methods=[\"POST\"])\ndef logout():\n"
            "    query = urlencode({\"id_token_hint\": session.pop(\"id_token\", \"\"),\n"
            f"                       \"post_logout_redirect_uri\": {_q(v['post_logout_uri'])}}})\n"
            "    session.clear()\n"
            f"    return redirect({_q(urls.logout)} + \"?\" + query)"
        )
        flask = flask.replace("import os\n\n", "import os\nfrom urllib.parse import urlencode\n\n", 1)
    django = (
        "# settings.py: AUTHLIB_OAUTH_CLIENTS could hold the same values.\nimport os\n\n"
        "from authlib.integrations.django_client import OAuth\nfrom django.shortcuts import redirect\n\n"
        f"oauth = OAuth()\noauth.register(\n{register})\n\n\n"
        "def login(request):\n"
        f"    return oauth.gatehouse.authorize_redirect(request, {_q(v['redirect_uri'])})\n\n\n"
        "def callback(request):  # routed at the redirect URI's path\n"
        "    token = oauth.gatehouse.authorize_access_token(request)\n"
        "    request.session[\"user\"] = token[\"userinfo\"]\n"
        "    return redirect(\"/\")"
    )
    mozilla = (
        "# settings.py (mozilla-django-oidc 4): its callback is /oidc/callback/ on your site, so register\n"
        "# that address as a redirect URI of this app.\nimport os\n\n"
        "AUTHENTICATION_BACKENDS = [\"mozilla_django_oidc.auth.OIDCAuthenticationBackend\"]\n"
        f"OIDC_RP_CLIENT_ID = {_q(v['client_id'])}\n"
        f"OIDC_RP_CLIENT_SECRET = os.environ[{_q(SECRET_VARIABLE)}]\n"
        "OIDC_RP_SIGN_ALGO = \"RS256\"\n"
        f"OIDC_RP_SCOPES = {_q(v['scope'])}\n"
        f"OIDC_OP_AUTHORIZATION_ENDPOINT = {_q(urls.authorize)}\n"
        f"OIDC_OP_TOKEN_ENDPOINT = {_q(urls.token)}\n"
        f"OIDC_OP_USER_ENDPOINT = {_q(urls.userinfo)}\n"
        f"OIDC_OP_JWKS_ENDPOINT = {_q(urls.jwks)}\n"
        "OIDC_USE_PKCE = True\n"
        "OIDC_PKCE_CODE_CHALLENGE_METHOD = \"S256\"\n"
        "LOGIN_REDIRECT_URL = \"/\"\n\n"
        "# urls.py\n# path(\"oidc/\", include(\"mozilla_django_oidc.urls\")),"
    )
    return {"env": _env(urls, v, confidential=True), "authlib_flask": flask, "authlib_django": django,
            "mozilla_django_oidc": mozilla}


def _spa_scope(v: dict) -> str:
    """A browser or device app usually calls an API: ask for the first granted API's scopes too."""
    return f"{v['scope']} {v['api_scope']}".strip()


def _spa_snippets(urls: Endpoints, v: dict) -> dict[str, str]:
    config = (
        f"  authority: {_q(urls.issuer)},\n"
        f"  client_id: {_q(v['client_id'])},\n"
        f"  redirect_uri: {_q(v['redirect_uri'])},\n"
        f"  post_logout_redirect_uri: {_q(v['post_logout_uri'] or v['redirect_uri'])},\n"
        "  response_type: \"code\",  // with PKCE (S256), added by oidc-client-ts; no client secret\n"
        f"  scope: {_q(_spa_scope(v))},\n"
    )
    user_manager = (
        "import { UserManager } from \"oidc-client-ts\";\n\n"
        f"export const userManager = new UserManager({{\n{config}}});\n\n"
        "// Sign in: await userManager.signinRedirect();\n"
        "// On the redirect URI's page: const user = await userManager.signinRedirectCallback();\n"
        "// Call your API with: Authorization: `Bearer ${user.access_token}`\n"
        "// Sign out: await userManager.signoutRedirect();"
    )
    react = (
        "import { AuthProvider, useAuth } from \"react-oidc-context\";\n\n"
        f"const oidcConfig = {{\n{config}"
        "  // Drop ?code=&state= from the address once signed in.\n"
        "  onSigninCallback: () => window.history.replaceState({}, document.title, window.location.pathname),\n"
        "};\n\n"
        "root.render(\n  <AuthProvider {...oidcConfig}>\n    <App />\n  </AuthProvider>\n);\n\n"
        "function App() {\n  const auth = useAuth();\n"
        "  if (auth.isLoading) return <p>Signing in…</p>;\n"
        "  if (auth.isAuthenticated) {\n"
        "    return <button onClick={() => void auth.signoutRedirect()}>Sign out {auth.user?.profile.email}</button>;\n"
        "  }\n  return <button onClick={() => void auth.signinRedirect()}>Sign in</button>;\n}"
    )
    return {"oidc_client_ts": user_manager, "react_oidc_context": react}


def redirect_style(uri: str) -> str:
    """How a native app receives its redirect (RFC 8252): "loopback", "https" (claimed) or "scheme"."""
    parts = urlsplit(uri)
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS | {"::1"}:
        return "loopback"
    return "https" if parts.scheme == "https" else "scheme"


def _native_snippets(urls: Endpoints, v: dict) -> dict[str, str]:
    uri = v["redirect_uri"]
    scopes = ", ".join(_q(s) for s in _spa_scope(v).split())
    ios = (
        "import AppAuth\n\n"
        f"let issuer = URL(string: {_q(urls.issuer)})!\n"
        f"let redirectURL = URL(string: {_q(uri)})!\n\n"
        "OIDAuthorizationService.discoverConfiguration(forIssuer: issuer) { configuration, error in\n"
        "    guard let configuration else { print(\"Discovery failed: \\(String(describing: error))\"); return }\n"
        "    // Public client: no secret. AppAuth adds PKCE (S256) to every code request.\n"
        "    let request = OIDAuthorizationRequest(configuration: configuration,\n"
        f"                                          clientId: {_q(v['client_id'])},\n"
        "                                          clientSecret: nil,\n"
        f"                                          scopes: [{scopes}],\n"
        "                                          redirectURL: redirectURL,\n"
        "                                          responseType: OIDResponseTypeCode,\n"
        "                                          additionalParameters: nil)\n"
        "    appDelegate.currentAuthorizationFlow = OIDAuthState.authState(\n"
        "        byPresenting: request, presenting: viewController) { state, error in\n"
        "        // state?.lastTokenResponse?.accessToken, state?.lastTokenResponse?.idToken\n"
        "    }\n}"
    )
    scheme = urlsplit(uri).scheme
    placeholder = (f"// build.gradle: android {{ defaultConfig {{ manifestPlaceholders = [appAuthRedirectScheme: "
                   f"{_q(scheme)}] }} }}\n" if redirect_style(uri) == "scheme" else "")
    android = (
        f"{placeholder}import android.net.Uri\nimport android.util.Log\nimport net.openid.appauth.*\n\n"
        f"AuthorizationServiceConfiguration.fetchFromIssuer(Uri.parse({_q(urls.issuer)})) {{ config, ex ->\n"
        "    if (config == null) { Log.e(\"auth\", \"Discovery failed\", ex); return@fetchFromIssuer }\n"
        "    // Public client: no secret. AppAuth adds PKCE (S256) to every code request.\n"
        "    val request = AuthorizationRequest.Builder(\n"
        f"        config, {_q(v['client_id'])}, ResponseTypeValues.CODE, Uri.parse({_q(uri)})\n"
        f"    ).setScopes({scopes}).build()\n"
        "    launcher.launch(AuthorizationService(context).getAuthorizationRequestIntent(request))\n}"
    )
    return {"appauth_ios": ios, "appauth_android": android, "redirect_style": redirect_style(uri),
            "redirect_scheme": scheme}


def _machine_snippets(urls: Endpoints, v: dict) -> dict[str, str]:
    api: Api | None = v["api"]
    form = [("grant_type", "client_credentials")]
    if api is not None:
        form += [("scope", v["api_scope"]), ("resource", api.identifier)]
    curl = "\n".join(
        [f"curl -s -X POST {shlex.quote(urls.token)} \\",
         f"  -u {shlex.quote(v['client_id'])}:\"${SECRET_VARIABLE}\" \\"]
        + [f"  --data-urlencode {shlex.quote(f'{k}={val}')}" + (" \\" if i < len(form) - 1 else "")
           for i, (k, val) in enumerate(form)]
    )
    arguments = "".join(f"    {k}={_q(val)},\n" for k, val in form)
    authlib = (
        "import os\n\nfrom authlib.integrations.requests_client import OAuth2Session\n\n"
        f"session = OAuth2Session({_q(v['client_id'])}, os.environ[{_q(SECRET_VARIABLE)}])\n"
        f"token = session.fetch_token(\n    {_q(urls.token)},\n{arguments})\n"
        "# session.get(...) now sends Authorization: Bearer <access token>"
    )
    data = "".join(f"        {_q(k)}: {_q(val)},\n" for k, val in form)
    httpx = (
        "import os\n\nimport httpx\n\n"
        "response = httpx.post(\n"
        f"    {_q(urls.token)},\n"
        f"    auth=({_q(v['client_id'])}, os.environ[{_q(SECRET_VARIABLE)}]),\n"
        f"    data={{\n{data}    }},\n)\n"
        "response.raise_for_status()\naccess_token = response.json()[\"access_token\"]"
    )
    return {"env": _env(urls, v, confidential=True), "curl": curl, "authlib": authlib, "httpx": httpx}


def api_snippets(api: Api) -> dict[str, str]:
    """How a registered API checks its tokens with gatehouse-sdk: Django, DRF and plain Python."""
    urls = endpoints()
    scope = api.scopes.order_by("name").values_list("name", flat=True).first() or "read"
    opaque = "" if api.is_jwt else (
        f"    # Opaque tokens are introspected with the API's own client (secret shown once at registration):\n"
        f"    \"INTROSPECTION_CLIENT_ID\": {_q(api.client_id)},\n"
        "    \"INTROSPECTION_CLIENT_SECRET\": os.environ[\"GATEHOUSE_API_SECRET\"],\n")
    django = (
        "# pip install \"gatehouse-sdk[django]\"\n# settings.py\n" + ("" if api.is_jwt else "import os\n\n") +
        f"GATEHOUSE_SDK = {{\n    \"ISSUER\": {_q(urls.issuer)},\n    \"AUDIENCE\": {_q(api.identifier)},\n{opaque}}}\n"
        "MIDDLEWARE = [\n    # ...\n"
        "    \"gatehouse_sdk.django.GatehouseMiddleware\",  # sets request.access_token\n]\n\n"
        "# views.py\nfrom django.http import JsonResponse\n\nfrom gatehouse_sdk.django import require_scope\n\n\n"
        f"@require_scope({_q(scope)})\ndef items(request):\n"
        "    token = request.access_token\n    return JsonResponse({\"for\": token.sub, \"org\": token.org})"
    )
    drf = (
        "# pip install \"gatehouse-sdk[drf]\"; GATEHOUSE_SDK in settings.py as for Django, and:\n"
        "REST_FRAMEWORK = {\n"
        "    \"DEFAULT_AUTHENTICATION_CLASSES\": [\"gatehouse_sdk.drf.GatehouseAuthentication\"],\n"
        "    \"DEFAULT_PERMISSION_CLASSES\": [\"rest_framework.permissions.IsAuthenticated\"],\n}\n\n"
        "# views.py\nfrom rest_framework.response import Response\nfrom rest_framework.views import APIView\n\n"
        "from gatehouse_sdk import drf\n\n\nclass Items(APIView):\n"
        f"    permission_classes = [drf.require_scope({_q(scope)})]\n\n"
        "    def get(self, request):\n        return Response({\"for\": request.auth.sub})"
    )
    python_opaque = "" if api.is_jwt else (
        f",\n    introspection_client_id={_q(api.client_id)},\n"
        "    introspection_client_secret=os.environ[\"GATEHOUSE_API_SECRET\"]")
    python = (
        "# pip install gatehouse-sdk\n" + ("" if api.is_jwt else "import os\n\n") +
        "from gatehouse_sdk import GatehouseError, ResourceServer\nfrom gatehouse_sdk.checks import check_scope\n\n"
        f"api = ResourceServer(\n    issuer={_q(urls.issuer)},\n"
        f"    audience={_q(api.identifier)}{python_opaque},\n)\n\n\n"
        "def handle(headers):\n    try:\n        token = api.require(headers.get(\"Authorization\"))\n"
        f"        check_scope(token, {_q(scope)})\n"
        "    except GatehouseError as error:  # 400/401/403/503 with the RFC 6750 header\n"
        "        return error.status, error.headers(), error.body()\n"
        "    return 200, {}, {\"for\": token.sub}"
    )
    return {"django": django, "drf": drf, "python": python, "example_scope": scope}

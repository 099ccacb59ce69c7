"""A demo relying party: sign in with Gatehouse over OpenID Connect, show the verified claims, call the demo's
Orders API with the access token, refresh, sign out.

    make demo-rp                  (or: .venv/bin/python -m demo.rp, with requirements/dev.txt installed)

It knows Gatehouse only through the discovery document at GATEHOUSE_ISSUER (default
http://localhost:$PORT, PORT defaulting to 8000 as for `make run`) and signs in as the seeded
`hr-portal` web client: Authorization Code with PKCE (S256), state and nonce, the ID token's signature
checked with the published JWKS and its iss/aud/exp/iat/nonce/at_hash checked too, then userinfo;
refresh rotates the tokens; sign-out is RP-initiated logout with id_token_hint. It also asks for the
Orders API's `orders:read`, so its access token is a JWT for https://orders.acme.test, which "Call the
Orders API" sends to demo/orders_api.py; main() serves that API in a thread of this process.

Built on the standard library's http.server and Authlib's requests client, so it adds no dependency.
Environment: DEMO_RP_PORT (default 4003; the seeded client only registers 4003), DEMO_RP_CLIENT_ID
and DEMO_RP_CLIENT_SECRET (default hr-portal / hr-portal-secret), DEMO_API_PORT (the Orders API's,
default 4005). Tests start both in-process with make_server().
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import html
import json
import os
import secrets
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from demo import orders_api

DEFAULT_PORT = 4003
HTTP_TIMEOUT_SECONDS = 10
# orders:read is the demo Orders API's scope (seed_demo grants it to hr-portal): with it, the access token
# is a JWT whose aud is that API, and Gatehouse's userinfo still accepts it.
SCOPE = "openid profile email orders:read"
SESSION_COOKIE = "demo_rp_session"  # not gatehouse_*: cookies are per host, not per port
SESSION_IDLE_SECONDS = 8 * 3600
PENDING_SECONDS = 600  # a sign-in started longer ago than this is not finished
MAX_PENDING = 5  # sign-ins in progress per browser (several tabs)
MAX_FORM_BYTES = 16 * 1024
CLOCK_LEEWAY_SECONDS = 60


# What an error answered to the redirect URI usually means, for the error page.
ERROR_HINTS = {
    "access_denied": "Consent was denied, or Gatehouse does not let this account into this application.",
    "login_required": "Nobody is signed in to Gatehouse (prompt=none asked it not to show its sign-in page).",
    "consent_required": "The application has no remembered consent (prompt=none asked not to show the question).",
    "invalid_request": "The request was malformed; this demo should never cause that, so please report it.",
}


@dataclass(frozen=True)
class Config:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str
    scope: str = SCOPE
    orders_api_url: str = f"http://127.0.0.1:{orders_api.DEFAULT_PORT}"


class PageError(Exception):
    """Something went wrong that the person should read about: a title, what happened, what to do."""

    def __init__(self, title: str, detail: str, *, hint: str = "", status: int = HTTPStatus.BAD_GATEWAY):
        super().__init__(f"{title}: {detail}")
        self.title, self.detail, self.hint, self.status = title, detail, hint, status


# ---------------------------------------------------------------------------------------- provider


class Provider:
    """Gatehouse as seen from outside: its discovery document and JWKS, fetched on first use.

    Lazily, so the demo can start before Gatehouse does and say so on the page instead of crashing.
    """

    def __init__(self, issuer: str):
        self.issuer = issuer
        self._metadata: dict | None = None
        self._keys: KeySet | None = None
        self._lock = threading.Lock()

    def _get_json(self, url: str, what: str) -> dict:
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise PageError(
                "Gatehouse is not reachable",
                f"Fetching {what} from {url} failed ({type(exc).__name__}).",
                hint="Start it with `make run` in another terminal, then try again. If it serves on another "
                     "port, give this demo the same PORT (or GATEHOUSE_ISSUER).",
            ) from exc
        if response.status_code != HTTPStatus.OK:
            raise PageError("Gatehouse answered with an error",
                            f"{what} at {url} answered HTTP {response.status_code}.")
        try:
            document = response.json()
        except ValueError as exc:
            raise PageError("Gatehouse answered something unexpected", f"{what} at {url} is not JSON.") from exc
        if not isinstance(document, dict):
            raise PageError("Gatehouse answered something unexpected", f"{what} at {url} is not a JSON object.")
        return document

    @property
    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None:
                document = self._get_json(f"{self.issuer}/.well-known/openid-configuration", "the discovery document")
                # OpenID Connect Discovery §4.3: the document must name the issuer it was fetched from.
                if document.get("issuer") != self.issuer:
                    raise PageError(
                        "The discovery document names another issuer",
                        f"Expected {self.issuer!r}, got {document.get('issuer')!r}.",
                        hint="Set GATEHOUSE_ISSUER for this demo to the issuer Gatehouse serves "
                             "(Gatehouse's own GATEHOUSE_ISSUER, or http://localhost:$PORT).",
                    )
                self._metadata = document
            return self._metadata

    def endpoint(self, name: str) -> str:
        url = self.metadata.get(name)
        if not isinstance(url, str) or not url:
            raise PageError("Gatehouse's discovery document is incomplete", f"It names no {name}.")
        return url

    def key_set(self, *, refresh: bool = False) -> KeySet:
        jwks_uri = self.endpoint("jwks_uri")
        with self._lock:
            if self._keys is None or refresh:
                self._keys = KeySet.import_key_set(self._get_json(jwks_uri, "the signing keys (JWKS)"))
            return self._keys


def _at_hash(access_token: str) -> str:
    """OpenID Connect Core §3.1.3.6: the left half of SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def verify_id_token(provider: Provider, config: Config, id_token: str, *, nonce: str | None,
                    access_token: str | None, refreshed_from: dict | None = None) -> tuple[dict, dict]:
    """Return the ID token's (header, claims) after checking its signature against the published JWKS
    and iss, aud, azp, exp, iat, nonce and at_hash.

    A token from a refresh (`refreshed_from`: the claims of the one it replaces) must name the same
    sub, and may leave out the nonce but not change it (OpenID Connect Core §12.2).
    """
    refreshed_from = refreshed_from or {}
    sub = refreshed_from.get("sub")
    token = None
    for refresh in (False, True):  # a kid we don't know yet: the keys were rotated, fetch them again
        try:
            token = jwt.decode(id_token, provider.key_set(refresh=refresh), algorithms=["RS256"])
            break
        except InvalidKeyIdError:
            if refresh:
                raise PageError("The ID token is signed with an unknown key",
                                "Its kid is not in Gatehouse's JWKS.", status=HTTPStatus.BAD_GATEWAY) from None
        except JoseError as exc:
            raise PageError("The ID token did not verify", str(exc) or exc.error) from None
    assert token is not None
    expected = {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "value": config.client_id},
        "sub": {"essential": True, **({"value": sub} if sub else {})},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    claims = token.claims
    if nonce is not None and (not refreshed_from or "nonce" in claims):
        expected["nonce"] = {"essential": True, "value": nonce}
    try:
        jwt.JWTClaimsRegistry(leeway=CLOCK_LEEWAY_SECONDS, **expected).validate(claims)
    except JoseError as exc:
        raise PageError("The ID token's claims are wrong", str(exc) or exc.error) from None
    problems = []
    if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and claims.get("azp") != config.client_id:
        problems.append("azp is not this client")
    if access_token and "at_hash" in claims and not hmac.compare_digest(str(claims["at_hash"]), _at_hash(access_token)):
        problems.append("at_hash does not match the access token")
    if problems:
        raise PageError("The ID token's claims are wrong", "; ".join(problems) + ".")
    return token.header, claims


# ---------------------------------------------------------------------------------------- sessions


@dataclass
class Pending:
    """A sign-in sent to Gatehouse and not back yet, keyed by its state."""

    nonce: str
    code_verifier: str
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class OrdersAnswer:
    """What the Orders API answered the last call, as the page shows it."""

    url: str
    status: int
    body: object  # the JSON, or the text when it is not JSON
    www_authenticate: str = ""


@dataclass
class Session:
    """One browser's state, kept here; the browser holds only a random id in a cookie."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    pending: dict[str, Pending] = field(default_factory=dict)
    token: dict | None = None
    id_header: dict | None = None
    id_claims: dict | None = None
    userinfo: dict | None = None
    refreshes: int = 0
    orders_answer: OrdersAnswer | None = None
    logout_state: str | None = None
    notices: list[str] = field(default_factory=list)
    last_seen: float = field(default_factory=time.monotonic)

    def sign_out_locally(self) -> None:
        self.token = self.id_header = self.id_claims = self.userinfo = self.orders_answer = None
        self.refreshes = 0


class SessionStore:
    def __init__(self):
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                session.last_seen = time.monotonic()
            return session

    def create(self) -> tuple[str, Session]:
        session_id, session = secrets.token_urlsafe(32), Session()
        with self._lock:
            cutoff = time.monotonic() - SESSION_IDLE_SECONDS
            for stale in [key for key, value in self._sessions.items() if value.last_seen < cutoff]:
                del self._sessions[stale]
            self._sessions[session_id] = session
        return session_id, session


# ---------------------------------------------------------------------------------------- requests and pages


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]
    url: str  # as the browser asked for it, origin included


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    set_cookie: str | None = None


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def _when(timestamp) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _fingerprint(secret_value: str | None) -> str:
    """Enough of a token to see that it changed, without putting the token on the page."""
    if not secret_value:
        return "none"
    return "sha256:" + hashlib.sha256(secret_value.encode()).hexdigest()[:12]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


TIME_CLAIMS = {"exp", "iat", "auth_time", "updated_at", "nbf"}


def _unverified_jwt_claims(token: str | None) -> dict | None:
    """The payload of a JWT access token, read without checking it, or None for an opaque token.

    Only for showing: to a client an access token is opaque (RFC 9068 §6), and the API it is for is the
    one that verifies it. Here it shows which API the token is for (aud), what it allows and until when."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _claims_table(caption: str, claims: dict) -> str:
    rows = []
    for name in sorted(claims):
        value = claims[name]
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        when = f' <small>({esc(_when(value))})</small>' if name in TIME_CLAIMS and _when(value) else ""
        rows.append(f"<tr><th scope=\"row\"><code>{esc(name)}</code></th><td><code>{esc(shown)}</code>{when}</td></tr>")
    return (f"<table><caption>{caption}</caption><thead><tr><th scope=\"col\">claim</th>"
            f"<th scope=\"col\">value</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


STYLESHEET = b"""
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
header { background: #27344d; color: #fff; padding: .8rem 2rem; }
header strong { font-size: 1.1rem; }
header span { opacity: .75; margin-left: .6rem; }
main { max-width: 60rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
.notice { background: #e6f4ea; border-left: 4px solid #2e7d32; padding: .6rem 1rem; margin: 0 0 1rem; }
.error { background: #fdecea; border-left: 4px solid #c62828; padding: .6rem 1rem; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1.5rem; background: #fff; }
caption { text-align: left; font-weight: 600; padding: .4rem 0; }
th, td { text-align: left; vertical-align: top; padding: .35rem .7rem; border-bottom: 1px solid #dde1e7; }
td code { word-break: break-all; }
form { display: inline-block; margin: 0 .5rem 1rem 0; }
button { font: inherit; padding: .5rem 1.1rem; border-radius: 6px; border: 1px solid #27344d; cursor: pointer;
         background: #27344d; color: #fff; }
button.secondary { background: #fff; color: #27344d; }
button:focus-visible, a:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
small { color: #5a6272; }
pre { background: #fff; border: 1px solid #dde1e7; padding: .7rem; overflow-x: auto; margin: 0 0 1.5rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
td { overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  main { padding: 0 .75rem; }
  th, td { padding: .3rem .4rem; }
}
"""


# ---------------------------------------------------------------------------------------- the application


class DemoRP:
    """The pages, as functions from a Request to a Response; DemoHandler does the HTTP."""

    def __init__(self, config: Config):
        self.config = config
        self.provider = Provider(config.issuer)
        self.sessions = SessionStore()
        issuer = urlsplit(config.issuer)
        # Sign-in and sign-out forms post here and are redirected on to Gatehouse: CSP form-action
        # governs every hop of that navigation, so it names Gatehouse's origin beside our own.
        self.csp = ("default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
                    f"base-uri 'none'; form-action 'self' {issuer.scheme}://{issuer.netloc}")

    # ------------------------------------------------------------------ plumbing

    def handle(self, request: Request) -> Response:
        routes = {
            ("GET", "/"): self.home,
            ("GET", "/auth/callback"): self.callback,
            ("POST", "/login"): self.login,
            ("POST", "/refresh"): self.refresh,
            ("POST", "/orders"): self.call_orders,
            ("POST", "/logout"): self.logout,
        }
        if request.path == "/rp.css" and request.method in ("GET", "HEAD"):
            return Response(HTTPStatus.OK, STYLESHEET, content_type="text/css; charset=utf-8")
        if request.path == "/favicon.ico":
            return Response(HTTPStatus.NO_CONTENT)  # none, and no 404 in the browser console
        view = routes.get((request.method, request.path))
        if view is None:
            known = any(path == request.path for _, path in routes)
            status = HTTPStatus.METHOD_NOT_ALLOWED if known else HTTPStatus.NOT_FOUND
            return self.error_page(PageError(status.phrase, f"{request.method} {request.path} is not a page here.",
                                             hint="Go back to the start page.", status=status))
        try:
            return view(request)
        except PageError as exc:
            return self.error_page(exc)
        except Exception as exc:
            # A bug here: say so on the page rather than drop the connection, and keep the traceback.
            traceback.print_exc()
            return self.error_page(PageError("The demo failed", f"{type(exc).__name__}: {exc}",
                                             hint="The traceback is in the terminal running the demo.",
                                             status=HTTPStatus.INTERNAL_SERVER_ERROR))

    def _session(self, request: Request) -> tuple[Session, str | None]:
        """The browser's session, made if it has none; returns it and the cookie to set, if new."""
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return session, None
        session_id, session = self.sessions.create()
        return session, f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"

    def _posted_session(self, request: Request) -> Session:
        """A POST must come from one of our pages: an existing session and its CSRF token."""
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None or not hmac.compare_digest(request.form.get("csrf", ""), session.csrf):
            raise PageError("This form has expired",
                            "The page it came from is older than this demo's memory (was the demo restarted?).",
                            hint="Go back to the start page and try again.", status=HTTPStatus.FORBIDDEN)
        return session

    def _oauth(self, token: dict | None = None) -> OAuth2Session:
        return OAuth2Session(
            self.config.client_id, self.config.client_secret, scope=self.config.scope,
            redirect_uri=self.config.redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic", token=token, default_timeout=HTTP_TIMEOUT_SECONDS,
        )

    def _see_other(self, location: str) -> Response:
        return Response(HTTPStatus.SEE_OTHER, location=location)

    def _gatehouse_call(self, what: str, call):
        """Run a back-channel call to Gatehouse, turning its failures into pages."""
        try:
            return call()
        except OAuthError as exc:
            raise PageError(f"Gatehouse refused {what}", f"{exc.error}: {exc.description or 'no description'}",
                            status=HTTPStatus.BAD_REQUEST) from None
        except requests.RequestException as exc:
            if exc.response is not None:
                raise PageError(f"Gatehouse failed {what}", f"It answered HTTP {exc.response.status_code}.") from None
            raise PageError("Gatehouse is not reachable", f"{what}: {type(exc).__name__}.",
                            hint="Is `make run` still running?") from None
        except ValueError as exc:  # a body that is not JSON
            raise PageError(f"Gatehouse answered {what} with something unexpected", str(exc)) from None

    def _userinfo(self, token: dict, sub: str) -> dict:
        def call():
            response = self._oauth(token).get(self.provider.endpoint("userinfo_endpoint"))
            response.raise_for_status()
            return response.json()

        userinfo = self._gatehouse_call("the userinfo request", call)
        # OpenID Connect Core §5.3.4: userinfo for another subject must not be used.
        if not isinstance(userinfo, dict) or userinfo.get("sub") != sub:
            raise PageError("Userinfo is for someone else", "Its sub differs from the ID token's.")
        return userinfo

    # ------------------------------------------------------------------ pages

    def home(self, request: Request) -> Response:
        session, cookie = self._session(request)
        state = request.query.get("state")
        if state and session.logout_state and hmac.compare_digest(state, session.logout_state):
            session.logout_state = None
            session.notices.append("You are signed out of the demo and of Gatehouse.")
        notices, session.notices = session.notices, []
        if session.token is None:
            body = self._signed_out(session)
            title = "Signed out"
        else:
            body = self._signed_in(session)
            title = "Signed in"
        return self.page(title, body, notices=notices, cookie=cookie)

    def _signed_out(self, session: Session) -> str:
        return f"""
<h1>HR Portal (demo)</h1>
<p>You are not signed in. This demo application signs you in with Gatehouse at <code>{esc(self.config.issuer)}</code>
as the client <code>{esc(self.config.client_id)}</code>.</p>
<p><small>With <code>make run</code>'s demo data, try <code>alice@acme.test</code> and
<code>demo-password-123</code>.</small></p>
<form method="post" action="/login">
  <input type="hidden" name="csrf" value="{esc(session.csrf)}">
  <button type="submit">Sign in with Gatehouse</button>
</form>"""

    def _signed_in(self, session: Session) -> str:
        claims, token = session.id_claims or {}, session.token or {}
        who = claims.get("name") or claims.get("email") or claims.get("sub")
        org = claims.get("org") if isinstance(claims.get("org"), dict) else {}
        header = session.id_header or {}
        refreshed = f", refreshed {session.refreshes} time{'s' if session.refreshes != 1 else ''}" \
            if session.refreshes else ""
        token_rows = [
            ("access token", f"{_fingerprint(token.get('access_token'))}, expires {_when(token.get('expires_at'))}"),
            ("refresh token", _fingerprint(token.get("refresh_token"))),
            ("scope", token.get("scope", "")),
            ("ID token key", f"{header.get('alg', '')}, kid {header.get('kid', '')}"),
        ]
        rows = "".join(f"<tr><th scope=\"row\">{esc(name)}</th><td><code>{esc(value)}</code></td></tr>"
                       for name, value in token_rows)
        return f"""
<h1>Signed in as {esc(who)}</h1>
<p>Organization <strong>{esc(org.get('slug', '?'))}</strong>{refreshed}.
<a href="{esc(self.config.issuer)}/account/">Your Gatehouse account</a> lists this app's consent.</p>
<form method="post" action="/refresh">
  <input type="hidden" name="csrf" value="{esc(session.csrf)}">
  <button type="submit" class="secondary">Refresh tokens</button>
</form>
<form method="post" action="/orders">
  <input type="hidden" name="csrf" value="{esc(session.csrf)}">
  <button type="submit" class="secondary">Call the Orders API</button>
</form>
<form method="post" action="/logout">
  <input type="hidden" name="csrf" value="{esc(session.csrf)}">
  <button type="submit">Sign out</button>
</form>
{self._orders_section(session)}
{_claims_table("ID token claims — signature verified with Gatehouse's JWKS; iss, aud, exp, iat, nonce and at_hash "
               "checked", claims)}
{_claims_table("Userinfo response", session.userinfo or {})}
<table><caption>Tokens (fingerprints only)</caption><tbody>{rows}</tbody></table>"""

    def _orders_section(self, session: Session) -> str:
        claims = _unverified_jwt_claims((session.token or {}).get("access_token"))
        if claims is None:
            token_part = ("<p>The access token is opaque (not a JWT): it is for Gatehouse's userinfo only, so the "
                          "Orders API will refuse it.</p>")
        else:
            shown = {name: claims[name] for name in ("aud", "scope", "exp", "sub", "client_id") if name in claims}
            token_part = _claims_table("Access token claims — decoded, not verified: the Orders API verifies "
                                       "them", shown)
        answer = session.orders_answer
        if answer is None:
            answer_part = (f"<p><small>The Orders API is at <code>{esc(self.config.orders_api_url)}</code>. "
                           "Press <em>Call the Orders API</em> to send it this access token.</small></p>")
        else:
            body = answer.body
            orders = body.get("orders") if isinstance(body, dict) else None
            table = ""
            if isinstance(orders, list) and all(isinstance(order, dict) for order in orders):
                rows = "".join(
                    "<tr>" + "".join(f"<td>{esc(order.get(key, ''))}</td>"
                                     for key in ("id", "item", "quantity", "status")) + "</tr>"
                    for order in orders)
                table = ("<table><caption>Your orders</caption><thead><tr><th scope=\"col\">order</th>"
                         "<th scope=\"col\">item</th><th scope=\"col\">quantity</th><th scope=\"col\">status</th>"
                         f"</tr></thead><tbody>{rows}</tbody></table>")
            challenge = (f"<p>WWW-Authenticate: <code>{esc(answer.www_authenticate)}</code></p>"
                         if answer.www_authenticate else "")
            shown_body = json.dumps(body, indent=2, ensure_ascii=False) if not isinstance(body, str) else body
            answer_part = (f"<p>GET <code>{esc(answer.url)}</code> answered <strong>{answer.status} "
                           f"{esc(_phrase(answer.status))}</strong>.</p>{challenge}{table}"
                           f"<pre aria-label=\"The Orders API's JSON response\">{esc(shown_body)}</pre>")
        return f"<h2>Orders API</h2>\n{token_part}\n{answer_part}"

    def login(self, request: Request) -> Response:
        session = self._posted_session(request)
        authorization_endpoint = self.provider.endpoint("authorization_endpoint")
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        url, _ = self._oauth().create_authorization_url(authorization_endpoint, state=state, code_verifier=verifier,
                                                         nonce=nonce)
        cutoff = time.monotonic() - PENDING_SECONDS
        kept = sorted((item for item in session.pending.items() if item[1].started >= cutoff),
                      key=lambda item: item[1].started)[-(MAX_PENDING - 1):]
        session.pending = {**dict(kept), state: Pending(nonce=nonce, code_verifier=verifier)}
        return self._see_other(url)

    def callback(self, request: Request) -> Response:
        params = request.query
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        state = params.get("state", "")
        pending = session.pending.pop(state, None) if session is not None and state else None
        if "error" in params:
            description = params.get("error_description")
            raise PageError("Gatehouse did not sign you in",
                            f"{params['error']}: {description}" if description else params["error"],
                            hint=ERROR_HINTS.get(params["error"], "Start again from the start page."),
                            status=HTTPStatus.BAD_REQUEST)
        if pending is None or pending.started < time.monotonic() - PENDING_SECONDS:
            raise PageError("This sign-in was not started here",
                            "The state in Gatehouse's answer matches no sign-in this browser started in the last "
                            f"{PENDING_SECONDS // 60} minutes (or the demo was restarted since).",
                            hint="Start again from the start page.", status=HTTPStatus.BAD_REQUEST)
        # RFC 9207: the answer must come from the issuer we sent the person to (mix-up defence).
        issuer_param = params.get("iss")
        iss_expected = self.provider.metadata.get("authorization_response_iss_parameter_supported")
        if (issuer_param is not None or iss_expected) and issuer_param != self.provider.issuer:
            raise PageError("The answer came from another issuer",
                            f"iss was {issuer_param!r}, expected {self.provider.issuer!r}.",
                            status=HTTPStatus.BAD_REQUEST)
        if not params.get("code"):
            raise PageError("Gatehouse's answer has no code", "The callback carried neither code nor error.",
                            status=HTTPStatus.BAD_REQUEST)
        oauth = self._oauth()
        token_endpoint = self.provider.endpoint("token_endpoint")
        token = self._gatehouse_call("the authorization code", lambda: oauth.fetch_token(
            token_endpoint, authorization_response=request.url, state=state, code_verifier=pending.code_verifier,
        ))
        if "id_token" not in token:
            raise PageError("Gatehouse sent no ID token", "The token response has no id_token (was openid granted?).")
        header, claims = verify_id_token(self.provider, self.config, token["id_token"], nonce=pending.nonce,
                                         access_token=token.get("access_token"))
        userinfo = self._userinfo(dict(token), claims["sub"])
        session.token, session.id_header, session.id_claims, session.userinfo = dict(token), header, claims, userinfo
        session.refreshes = 0
        session.notices.append("Signed in: the ID token verified and userinfo agrees with it.")
        return self._see_other("/")

    def refresh(self, request: Request) -> Response:
        session = self._posted_session(request)
        if session.token is None or not session.token.get("refresh_token"):
            session.notices.append("You are not signed in, so there is nothing to refresh.")
            return self._see_other("/")
        old = session.token
        oauth = self._oauth(old)
        token_endpoint = self.provider.endpoint("token_endpoint")
        try:
            token = dict(oauth.refresh_token(token_endpoint, refresh_token=old["refresh_token"]))
        except OAuthError as exc:
            # Revoked, rotated away, or the membership was suspended: this sign-in is over.
            session.sign_out_locally()
            raise PageError("Gatehouse refused to refresh the tokens",
                            f"{exc.error}: {exc.description or 'no description'}",
                            hint="You are signed out of the demo; sign in again.",
                            status=HTTPStatus.BAD_REQUEST) from None
        except requests.RequestException as exc:
            raise PageError("Gatehouse is not reachable", f"The refresh failed: {type(exc).__name__}.",
                            hint="Is `make run` still running?") from None
        previous = session.id_claims or {}
        try:
            if "id_token" in token:
                header, claims = verify_id_token(self.provider, self.config, token["id_token"],
                                                 nonce=previous.get("nonce"), access_token=token.get("access_token"),
                                                 refreshed_from=previous)
                session.id_header, session.id_claims = header, claims
            else:
                token["id_token"] = old.get("id_token")  # still the hint for sign-out
            session.userinfo = self._userinfo(token, previous.get("sub"))
        except PageError as exc:
            # The old refresh token is spent already; keeping it would only replay it later.
            session.sign_out_locally()
            exc.hint = "You are signed out of the demo; sign in again."
            raise
        session.token = token
        session.refreshes += 1
        rotated = token.get("refresh_token") and token.get("refresh_token") != old.get("refresh_token")
        session.notices.append(
            f"Tokens refreshed: a new access token (expires {_when(token.get('expires_at'))})"
            + (" and a new refresh token (the old one is spent now)." if rotated else ".")
        )
        return self._see_other("/")

    def call_orders(self, request: Request) -> Response:
        session = self._posted_session(request)
        access_token = (session.token or {}).get("access_token")
        if not access_token:
            session.notices.append("You are not signed in, so there is no access token to call the Orders API with.")
            return self._see_other("/")
        url = f"{self.config.orders_api_url}/orders"
        try:
            response = requests.get(url, headers={"Authorization": f"Bearer {access_token}"},
                                    timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise PageError("The Orders API is not reachable", f"GET {url} failed ({type(exc).__name__}).",
                            hint="`make demo-rp` starts it on 127.0.0.1:$DEMO_API_PORT (default 4005); its "
                                 "terminal says whether it started.") from None
        try:
            body = response.json()
        except ValueError:
            body = response.text[:2000]
        session.orders_answer = OrdersAnswer(url=url, status=response.status_code, body=body,
                                             www_authenticate=response.headers.get("WWW-Authenticate", ""))
        if response.status_code == HTTPStatus.UNAUTHORIZED:
            # Most likely expired: an API's tokens live minutes (10 for the demo's), not an hour.
            session.notices.append("The Orders API refused the access token; press Refresh tokens, then call again.")
        else:
            session.notices.append(f"The Orders API answered {response.status_code} {_phrase(response.status_code)}.")
        return self._see_other("/")

    def logout(self, request: Request) -> Response:
        session = self._posted_session(request)
        id_token = (session.token or {}).get("id_token")
        session.sign_out_locally()
        if not id_token:
            session.notices.append("You are signed out of the demo.")
            return self._see_other("/")
        try:
            end_session_endpoint = self.provider.endpoint("end_session_endpoint")
        except PageError as exc:
            exc.detail = "You are signed out of the demo, but not of Gatehouse. " + exc.detail
            raise
        session.logout_state = secrets.token_urlsafe(24)
        query = urlencode({
            "id_token_hint": id_token,
            "post_logout_redirect_uri": self.config.post_logout_redirect_uri,
            "client_id": self.config.client_id,
            "state": session.logout_state,
        })
        return self._see_other(f"{end_session_endpoint}?{query}")

    # ------------------------------------------------------------------ rendering

    def error_page(self, error: PageError) -> Response:
        hint = f"<p>{esc(error.hint)}</p>" if error.hint else ""
        body = f"""
<h1>{esc(error.title)}</h1>
<p class="error">{esc(error.detail)}</p>
{hint}
<p><a href="/">Back to the start page</a></p>"""
        return self.page(error.title, body, status=error.status)

    def page(self, title: str, body: str, *, notices=(), status: int = HTTPStatus.OK,
             cookie: str | None = None) -> Response:
        notes = "".join(f'<p class="notice" role="status">{esc(notice)}</p>' for notice in notices)
        document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} · HR Portal (Gatehouse demo RP)</title>
<link rel="stylesheet" href="/rp.css">
</head>
<body>
<header><strong>HR Portal</strong><span>a demo relying party for Gatehouse</span></header>
<main>
{notes}{body}
</main>
</body>
</html>
"""
        return Response(status, document.encode("utf-8"), set_cookie=cookie)


# ---------------------------------------------------------------------------------------- HTTP


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "GatehouseDemoRP/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._dispatch()

    def _read_form(self) -> dict[str, str] | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_FORM_BYTES:
            return None
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        if self.command == "POST" and "application/x-www-form-urlencoded" not in self.headers.get("Content-Type", ""):
            return {}
        return dict(parse_qsl(body, keep_blank_values=True))

    def _cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}

    def _dispatch(self, head: bool = False) -> None:
        app = self.server.app
        parsed = urlsplit(self.path)
        form = self._read_form() if self.command == "POST" else {}
        if form is None:
            response = app.error_page(PageError("Request too large", "This demo accepts small forms only.",
                                                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE))
            self.close_connection = True
        else:
            request = Request(
                method="GET" if head else self.command, path=parsed.path,
                query=dict(parse_qsl(parsed.query, keep_blank_values=True)), form=form, cookies=self._cookies(),
                url=f"{self.server.url}{self.path}",
            )
            response = app.handle(request)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", app.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if response.location:
            self.send_header("Location", response.location)
        if response.set_cookie:
            self.send_header("Set-Cookie", response.set_cookie)
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    def log_request(self, code="-", size="-") -> None:
        # The path without its query: a callback's query carries the authorization code.
        path = urlsplit(self.path).path if hasattr(self, "path") else "-"
        status = code.value if isinstance(code, HTTPStatus) else code
        sys.stderr.write(f"demo-rp: {self.command} {path} {status}\n")


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True
    app: DemoRP

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, issuer: str, client_id: str,
                client_secret: str, redirect_uri: str | None = None,
                post_logout_redirect_uri: str | None = None, orders_api_url: str | None = None) -> DemoServer:
    """Bind the demo RP (port 0: any free port) without serving yet; call serve_forever() on the result.

    The redirect and post-logout URIs default to /auth/callback and / on the bound address, which must
    be registered for the client at Gatehouse. Gatehouse is not contacted until a page needs it, nor the
    Orders API (default http://127.0.0.1:4005) until "Call the Orders API" is pressed.
    """
    server = DemoServer((host, port), DemoHandler)
    base = server.url
    server.app = DemoRP(Config(
        issuer=issuer.rstrip("/"), client_id=client_id, client_secret=client_secret,
        redirect_uri=redirect_uri or f"{base}/auth/callback",
        post_logout_redirect_uri=post_logout_redirect_uri or f"{base}/",
        **({"orders_api_url": orders_api_url.rstrip("/")} if orders_api_url else {}),
    ))
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    issuer = os.environ.get("GATEHOUSE_ISSUER") or f"http://localhost:{os.environ.get('PORT') or '8000'}"
    port = int(os.environ.get("DEMO_RP_PORT") or DEFAULT_PORT)
    api_port = int(os.environ.get("DEMO_API_PORT") or orders_api.DEFAULT_PORT)
    client_id = os.environ.get("DEMO_RP_CLIENT_ID") or "hr-portal"
    client_secret = os.environ.get("DEMO_RP_CLIENT_SECRET") or "hr-portal-secret"
    try:
        server = make_server("127.0.0.1", port, issuer=issuer, client_id=client_id, client_secret=client_secret,
                             orders_api_url=f"http://127.0.0.1:{api_port}")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"demo-rp: port {port} is in use; stop what uses it (or set DEMO_RP_PORT and register "
                  f"that port's redirect URI for {client_id})", file=sys.stderr)
            return 1
        raise
    try:
        api_server = orders_api.make_server("127.0.0.1", api_port, issuer=issuer)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        # The sign-in demo works without it; only "Call the Orders API" will say it is unreachable.
        api_server = None
        print(f"demo-rp: warning: port {api_port} is in use, so the Orders API is not started here (set "
              "DEMO_API_PORT to move it)", file=sys.stderr, flush=True)
    if api_server is not None:
        # In a thread of this process, so Ctrl-C stops both and nothing is left running.
        threading.Thread(target=api_server.serve_forever, name="orders-api", daemon=True).start()
        print(f"demo-rp: the Orders API ({orders_api.AUDIENCE}) serves {api_server.url}", flush=True)
    print(f"demo-rp: serving {server.url} — signs in with Gatehouse at {issuer} as {client_id}", flush=True)
    print(f"demo-rp: redirect URI {server.app.config.redirect_uri}; Ctrl-C stops", flush=True)
    try:
        server.app.provider.endpoint("authorization_endpoint")  # fetch discovery now, to warn early
    except PageError as exc:
        print(f"demo-rp: warning: {exc.title}: {exc.detail} {exc.hint}", file=sys.stderr, flush=True)
    # Explicit handlers: a process started in the background by a shell inherits SIGINT ignored,
    # and `kill -INT` must stop it all the same (as bin/run-embedded does).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\ndemo-rp: stopped", flush=True)
    finally:
        server.server_close()
        if api_server is not None:
            api_server.shutdown()
            api_server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

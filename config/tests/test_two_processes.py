"""Two Gatehouse web processes on one PostgreSQL + Redis, with one Celery worker, behave as one (issue #14).

DESIGN.md: "Nothing may keep per-process state that another process needs (rate-limit counters,
lockouts, signing keys, sessions)." Here two web servers (config/server.py, as production runs them), A
and B, run on pytest-django's test database with the same Redis, broker and secrets, and one `celery worker`
delivers their mail to an SMTP sink. Data is seeded through the ORM in this process; everything else happens
over HTTP, and each test checks what a client of A and B sees: a token from A works at B; wrong passwords and failed
client authentications at A and at B add up to one lockout and one throttle; a forced key rotation
reaches both JWKS documents within their cache window; a session signed in at A is valid at B; a
member suspended here is refused at B on the very next request; mail asked for at A is delivered by
the worker.

The issuer is A's origin for both servers (one deployment, one issuer, behind whatever balancer), so
every token and redirect names A even when B made it. Browsers scope cookies by host, not port, so
the cookie jar of one requests.Session carries A's session cookie to B, as a browser would behind a
balancer.

A services test: runs in .ci/run (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL set) and fails, not
skips, without them. The servers and the worker start once for the module and are stopped at its end,
whatever happened.
"""

import base64
import hashlib
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.db import connection
from joserfc import jwt
from joserfc.jwk import KeySet

from applications.api_services import api_create, application_api_scopes_set
from applications.models import ApiScope, Application
from applications.services import application_create, application_disable
from config.tests.test_services import require_env, worker_database_url
from config.tests.web_processes import log_tail, manage, process_env, start_web, stop_process, wait_ready
from directory.hashers import OwaspArgon2PasswordHasher
from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.tests.smtp_sink import SmtpSink, free_port
from emailqueue.tests.worker import start_worker, stop_worker
from identity.signing import JWKS_PROCESS_CACHE_SECONDS
from orgs.models import Membership
from orgs.services import membership_suspend

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSWORD = "two-servers-one-gatehouse"
EMAIL = "ada@acme.test"
REDIRECT_URI = "https://hr.acme.test/callback"
# Small limits, given to both servers, so a test reaches them in a few requests; the assertions use
# these numbers, not the servers' defaults.
LOCKOUT_THRESHOLD = 4
LOGIN_IP_LIMIT = 6
CLIENT_AUTH_CLIENT_LIMIT = 4
# Throttle windows are fixed and aligned to the epoch (security/throttle.py). With the default few
# minutes a run could straddle a boundary and split one count in two; a window of ~31 years cannot.
WINDOW_SECONDS = 10**9
WAIT_SECONDS = 30  # for the worker to deliver a message


@dataclass
class Gatehouse:
    a: str  # A's origin, also the issuer
    b: str
    env: dict[str, str]
    sink: SmtpSink
    logs: dict[str, Path]

    def logs_tail(self) -> str:
        return "\n".join(f"--- {name} ---\n{log_tail(path, 1500)}" for name, path in self.logs.items())


@pytest.fixture(scope="module")
def gatehouse(django_db_setup, tmp_path_factory):
    """Servers A and B and one worker, on the test database pytest-django made (migrated already)."""
    database_url = require_env("DATABASE_URL")
    redis_url = require_env("REDIS_URL")
    broker_url = require_env("CELERY_BROKER_URL")
    assert database_url.startswith("postgres"), "two servers need a database both can reach: PostgreSQL"
    assert redis_url.startswith("redis://")
    assert broker_url.startswith("redis://")
    tmp = tmp_path_factory.mktemp("two-processes")
    port_a = free_port()
    port_b = free_port()
    while port_b == port_a:
        port_b = free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    queue = f"gatehouse-test-two-processes-{uuid.uuid4().hex[:12]}"  # this worker's alone
    sink = SmtpSink()
    env = process_env(
        DATABASE_URL=worker_database_url(database_url, connection.settings_dict["NAME"]),
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=broker_url,
        CELERY_TASK_ALWAYS_EAGER="false",
        # This process's secrets: keys it encrypts decrypt in every server, and the reverse.
        SECRET_KEY=settings.SECRET_KEY,
        GATEHOUSE_ENCRYPTION_KEYS=",".join(settings.GATEHOUSE_ENCRYPTION_KEYS),
        GATEHOUSE_ISSUER=a,
        GATEHOUSE_VAR_DIR=str(tmp / "var"),
        GATEHOUSE_EMAIL_QUEUE=queue,
        EMAIL_URL=sink.url,
        GATEHOUSE_LOCKOUT_THRESHOLD=str(LOCKOUT_THRESHOLD),
        GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT=str(LOGIN_IP_LIMIT),
        GATEHOUSE_THROTTLE_LOGIN_IP_WINDOW_SECONDS=str(WINDOW_SECONDS),
        GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_LIMIT=str(CLIENT_AUTH_CLIENT_LIMIT),
        GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_WINDOW_SECONDS=str(WINDOW_SECONDS),
        GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_LIMIT="1000",  # only the per-client limit is under test
        GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_WINDOW_SECONDS=str(WINDOW_SECONDS),
    )
    logs = {"A": tmp / "a.log", "B": tmp / "b.log", "worker": tmp / "worker.log"}
    started = []  # (process, how to stop it)
    try:
        sink.start()
        # Production serves the collected, hashed static files (the Dockerfile runs this at build time).
        collected = manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        assert collected.returncode == 0, collected.stderr[-3000:]
        server_a = start_web(port=port_a, env=env, log_path=logs["A"])
        started.append((server_a, stop_process))
        server_b = start_web(port=port_b, env=env, log_path=logs["B"])
        started.append((server_b, stop_process))
        worker = start_worker(queue=queue, env=env, log_path=logs["worker"], pool="prefork", concurrency=1)
        started.append((worker, stop_worker))
        wait_ready(url=a, process=server_a, log_path=logs["A"])
        wait_ready(url=b, process=server_b, log_path=logs["B"])
        yield Gatehouse(a=a, b=b, env=env, sink=sink, logs=logs)
    finally:
        for process, stop in started:
            stop(process)
        sink.stop()


@pytest.fixture(autouse=True)
def no_server_errors(gatehouse):
    """DESIGN.md: no request may produce a 500. Whatever a test did, neither server nor the worker
    logged an error meanwhile (and if one did, its traceback is the failure message)."""
    sizes = {name: path.stat().st_size for name, path in gatehouse.logs.items()}
    yield
    for name, path in gatehouse.logs.items():
        with path.open(errors="replace") as log:
            log.seek(sizes[name])
            written = log.read()
        assert not re.search(r"\bERROR\b", written), f"{name} logged an error:\n{written[-4000:]}"


@dataclass
class Acme:
    org: object
    owner: object
    user: object
    membership: Membership
    machine_id: str
    machine_secret: str
    web_id: str
    web_secret: str


@pytest.fixture
def acme(gatehouse) -> Acme:
    """Acme Corp: an owner, Ada (an admin, PASSWORD), a machine app and a trusted web app."""
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    owner = MembershipFactory(org=org, role=Membership.Role.OWNER, user=UserFactory(email="owner@acme.test")).user
    user = UserFactory(email=EMAIL, full_name="Ada Admin")
    # The servers know only their own hashers, not the fast one conftest.py gives this process.
    hasher = OwaspArgon2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    membership = MembershipFactory(org=org, role=Membership.Role.ADMIN, user=user)
    machine = application_create(org=org, name="Reports", kind="machine", client_id="acme-reports")
    web = application_create(org=org, name="HR Portal", kind="web", redirect_uris=[REDIRECT_URI],
                             client_id="acme-hr", trusted=True)
    return Acme(org, owner, user, membership, "acme-reports", machine.client_secret, "acme-hr", web.client_secret)


# ---------------------------------------------------------------------- HTTP helpers


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, (url, page.status_code, page.text[:300])
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, f"no CSRF field on {url}"
    return match.group(1)


def login(session: requests.Session, base: str, email: str, password: str) -> requests.Response:
    """Sign in through the hosted page at `base`, as a browser does: the form's CSRF token, then POST."""
    token = csrf_token(session, f"{base}/login")
    return session.post(f"{base}/login", data={"csrfmiddlewaretoken": token, "email": email, "password": password},
                        allow_redirects=False, timeout=10)


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    response = login(session, base, EMAIL, PASSWORD)
    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"] == "/console/", response.headers["Location"]
    return session


def client_credentials(base: str, acme: Acme, *, secret: str | None = None) -> requests.Response:
    return requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                         auth=(acme.machine_id, secret or acme.machine_secret), timeout=10)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def code_flow(session: requests.Session, acme: Acme, *, authorize_at: str, token_at: str, issuer: str) -> dict:
    """Authorization Code + PKCE: /authorize at one server with the browser session, the code
    redeemed at `token_at`. Returns the token response, with the nonce sent."""
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    response = session.get(f"{authorize_at}/oauth/authorize", params={
        "response_type": "code", "client_id": acme.web_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email", "state": state, "nonce": nonce,
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
    }, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = response.headers["Location"]
    assert location.startswith(f"{REDIRECT_URI}?"), location
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    assert query["state"] == state
    assert query["iss"] == issuer  # RFC 9207: the one issuer, whichever server answered
    token = requests.post(f"{token_at}/oauth/token", data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }, auth=(acme.web_id, acme.web_secret), timeout=10)
    assert token.status_code == 200, token.text
    return {**token.json(), "nonce": nonce}


def refresh(base: str, acme: Acme, refresh_token: str) -> requests.Response:
    return requests.post(f"{base}/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=(acme.web_id, acme.web_secret), timeout=10)


def userinfo(base: str, access_token: str) -> requests.Response:
    return requests.get(f"{base}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def jwks_kids(base: str) -> list[str]:
    response = requests.get(f"{base}/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200
    return [key["kid"] for key in response.json()["keys"]]


def wait_for_kids(base: str, *, present: str, absent: str | None = None, until: float) -> None:
    """Poll `base`'s JWKS until it publishes `present` (and not `absent`); fail at monotonic time `until`."""
    while True:
        kids = jwks_kids(base)
        if present in kids and absent not in kids:
            return
        assert time.monotonic() < until, f"{base} still publishes {kids}, without {present} or with {absent}"
        time.sleep(0.2)


def header_kid(compact: str) -> str:
    header = compact.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def verified_id_token(id_token: str, *, jwks_at: str, client_id: str, issuer: str, nonce: str | None) -> jwt.Token:
    """The ID token's signature checked with `jwks_at`'s published keys, then iss, aud, exp and nonce."""
    keys = requests.get(f"{jwks_at}/.well-known/jwks.json", timeout=10).json()
    token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=["RS256"])
    expected = {"iss": {"essential": True, "value": issuer}, "aud": {"essential": True, "value": client_id},
                "exp": {"essential": True}}
    if nonce is not None:
        expected["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**expected).validate(token.claims)
    return token


def delivered(gatehouse: Gatehouse, **filters) -> OutboundEmail:
    """The one outbox row matching `filters`, once the worker has sent it (or fail with the worker's log)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        rows = list(OutboundEmail.objects.filter(**filters))
        if len(rows) == 1 and rows[0].status == OutboundEmail.Status.SENT:
            return rows[0]
        time.sleep(0.1)
    pytest.fail(f"no sent email for {filters} in {WAIT_SECONDS}s: "
                f"{list(OutboundEmail.objects.values_list('kind', 'recipient', 'status', 'last_error'))}\n"
                f"{gatehouse.logs_tail()}")


def worker_deliveries(gatehouse: Gatehouse) -> int:
    """Deliveries the worker process logged as sent (celery's INFO line for each task that succeeded)."""
    return len(re.findall(r"Task emailqueue\.tasks\.deliver_email\[[^\]]+\] succeeded in \S+ 'sent'",
                          log_tail(gatehouse.logs["worker"], 1_000_000)))


def received_body(gatehouse: Gatehouse, message_id: str) -> str:
    assert gatehouse.sink.wait_for(1, timeout=5)
    for received in list(gatehouse.sink.received):
        if received.message_id == message_id:
            return received.message.get_body(("plain",)).get_content()
    pytest.fail(f"the SMTP sink has no message {message_id}: {gatehouse.sink.message_ids()}")


# ---------------------------------------------------------------------- tests


def test_tokens_from_one_server_work_at_the_other(gatehouse, acme):
    # Client credentials at one server, introspected by the other (both ways).
    for minted_at, checked_at in ((gatehouse.a, gatehouse.b), (gatehouse.b, gatehouse.a)):
        token = client_credentials(minted_at, acme)
        assert token.status_code == 200, token.text
        answer = requests.post(f"{checked_at}/oauth/introspect", data={"token": token.json()["access_token"]},
                               auth=(acme.machine_id, acme.machine_secret), timeout=10)
        assert answer.status_code == 200
        assert answer.json()["active"] is True, answer.json()
        assert answer.json()["client_id"] == acme.machine_id
        assert answer.json()["iss"] == gatehouse.a

    # A person's tokens: signed in and authorized at A, the code redeemed at B, userinfo at B, ID token
    # verified with B's JWKS, refreshed at A.
    browser = signed_in(gatehouse.a)
    tokens = code_flow(browser, acme, authorize_at=gatehouse.a, token_at=gatehouse.b, issuer=gatehouse.a)
    id_token = verified_id_token(tokens["id_token"], jwks_at=gatehouse.b, client_id=acme.web_id, issuer=gatehouse.a,
                                 nonce=tokens["nonce"])
    info = userinfo(gatehouse.b, tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == id_token.claims["sub"]
    assert info.json()["email"] == EMAIL
    refreshed = refresh(gatehouse.a, acme, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert userinfo(gatehouse.b, refreshed.json()["access_token"]).json()["email"] == EMAIL


def test_wrong_passwords_at_both_servers_add_up_to_one_lockout(gatehouse, acme):
    browser = requests.Session()
    # Alternating A and B: neither server sees LOCKOUT_THRESHOLD failures on its own.
    servers = [gatehouse.a, gatehouse.b] * LOCKOUT_THRESHOLD
    for attempt, base in enumerate(servers[:LOCKOUT_THRESHOLD - 1], start=1):
        response = login(browser, base, EMAIL, f"wrong-{attempt}")
        assert response.status_code == 200, (attempt, base, response.status_code)
        assert "Incorrect email or password." in response.text
    last = servers[LOCKOUT_THRESHOLD - 1]
    locked = login(browser, last, EMAIL, "wrong-again")  # the threshold-th attempt locks, wherever it lands
    assert locked.status_code == 429, locked.text[:500]
    assert "Too many failed sign-in attempts for this email address" in locked.text
    assert int(locked.headers["Retry-After"]) > 0
    # The other server refuses even the right password now.
    other = gatehouse.a if last == gatehouse.b else gatehouse.b
    refused = login(browser, other, EMAIL, PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts for this email address" in refused.text
    # The owner of the address is told, once, by the worker.
    notice = delivered(gatehouse, kind="account_locked")
    assert notice.recipient == EMAIL
    body = " ".join(received_body(gatehouse, notice.message_id).split())
    assert f"wrong password for {EMAIL} {LOCKOUT_THRESHOLD} times" in body


def test_the_login_throttle_counts_failures_at_both_servers(gatehouse, acme):
    browser = requests.Session()
    half = LOGIN_IP_LIMIT // 2
    for i in range(LOGIN_IP_LIMIT):  # one client IP, a different unknown address each time (no lockout)
        base = gatehouse.a if i < half else gatehouse.b
        response = login(browser, base, f"nobody-{i}@acme.test", "wrong")
        assert response.status_code == 200, (i, base, response.status_code)
    # Each server has seen only half the limit; together they have seen all of it.
    for base in (gatehouse.a, gatehouse.b):
        refused = login(browser, base, EMAIL, PASSWORD)
        assert refused.status_code == 429, (base, refused.status_code)
        assert "Too many failed sign-in attempts from your network" in refused.text


def test_the_client_auth_throttle_counts_failures_at_both_servers(gatehouse, acme):
    half = CLIENT_AUTH_CLIENT_LIMIT // 2
    for base in [gatehouse.a] * half + [gatehouse.b] * (CLIENT_AUTH_CLIENT_LIMIT - half):
        failed = client_credentials(base, acme, secret="wrong-secret")
        assert failed.status_code == 401, (base, failed.text)
        assert failed.json()["error"] == "invalid_client"
    # B counted the failure that reached the limit: from this IP even the right secret is refused.
    refused = client_credentials(gatehouse.b, acme)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_requests"
    # A reads the shared counter once it has seen the limit reached itself (security/client_auth_throttle.py):
    # by design at most one more failure gets through there, never the LIMIT - half a per-process count allows.
    first = client_credentials(gatehouse.a, acme, secret="wrong-secret")
    if first.status_code == 401:
        first = client_credentials(gatehouse.a, acme, secret="wrong-secret")
    assert first.status_code == 429, first.text
    assert client_credentials(gatehouse.a, acme).status_code == 429


def test_a_forced_key_rotation_reaches_both_servers_within_the_jwks_cache_window(gatehouse, acme):
    browser = signed_in(gatehouse.a)
    before = code_flow(browser, acme, authorize_at=gatehouse.a, token_at=gatehouse.a, issuer=gatehouse.a)
    old_kid = header_kid(before["id_token"])
    # Both servers have the current key set in their process caches before the rotation.
    cached = time.monotonic() + JWKS_PROCESS_CACHE_SECONDS + 2
    for base in (gatehouse.a, gatehouse.b):
        wait_for_kids(base, present=old_kid, until=cached)

    rotated = manage("rotate_signing_key", "--force", env=gatehouse.env)
    assert rotated.returncode == 0, rotated.stderr
    new_kid = re.search(r"^new kid: (\S+) \(active\)$", rotated.stdout, re.MULTILINE).group(1)
    assert re.search(rf"^old kid: {re.escape(old_kid)} ", rotated.stdout, re.MULTILINE), rotated.stdout
    # An emergency rotation drops the old key from JWKS at once: each server may serve its cached copy
    # for JWKS_PROCESS_CACHE_SECONDS at most after the rotation committed (one more second for the
    # requests themselves), counted for both from the moment the command returned.
    window_ends = time.monotonic() + JWKS_PROCESS_CACHE_SECONDS + 1
    for base in (gatehouse.a, gatehouse.b):
        wait_for_kids(base, present=new_kid, absent=old_kid, until=window_ends)

    # Tokens issued under the old key were revoked, at both servers.
    assert userinfo(gatehouse.b, before["access_token"]).status_code == 401
    assert refresh(gatehouse.a, acme, before["refresh_token"]).status_code == 400
    # ID tokens minted at either server now carry the new kid and verify with the other's JWKS.
    for minted_at, other in ((gatehouse.a, gatehouse.b), (gatehouse.b, gatehouse.a)):
        after = code_flow(browser, acme, authorize_at=minted_at, token_at=minted_at, issuer=gatehouse.a)
        token = verified_id_token(after["id_token"], jwks_at=other, client_id=acme.web_id, issuer=gatehouse.a,
                                  nonce=after["nonce"])
        assert token.header["kid"] == new_kid


def test_a_session_signed_in_at_one_server_is_valid_at_the_other(gatehouse, acme):
    browser = signed_in(gatehouse.a)
    account = browser.get(f"{gatehouse.b}/account/", allow_redirects=False, timeout=10)
    assert account.status_code == 200
    assert EMAIL in account.text
    console = browser.get(f"{gatehouse.b}/console/acme/", allow_redirects=False, timeout=10)
    assert console.status_code == 200
    assert "Acme Corp" in console.text

    # Signed out at B: the same cookie no longer signs anyone in at A.
    token = csrf_token(browser, f"{gatehouse.b}/logout")
    signed_out = browser.post(f"{gatehouse.b}/logout", data={"csrfmiddlewaretoken": token}, allow_redirects=False,
                              timeout=10)
    assert signed_out.status_code == 302
    again = browser.get(f"{gatehouse.a}/account/", allow_redirects=False, timeout=10)
    assert again.status_code == 302
    assert again.headers["Location"].startswith("/login")


def test_a_suspension_is_enforced_at_the_other_server_on_the_next_request(gatehouse, acme):
    browser = signed_in(gatehouse.a)
    tokens = code_flow(browser, acme, authorize_at=gatehouse.a, token_at=gatehouse.a, issuer=gatehouse.a)
    assert browser.get(f"{gatehouse.b}/console/acme/", allow_redirects=False, timeout=10).status_code == 200
    assert userinfo(gatehouse.b, tokens["access_token"]).status_code == 200

    membership_suspend(membership=acme.membership, actor=acme.owner, reason="two-process test")

    # Suspension ends the person's browser sessions (issue #11): the very next request at B is signed out.
    console = browser.get(f"{gatehouse.b}/console/acme/", allow_redirects=False, timeout=10)
    assert console.status_code == 302, console.status_code
    assert console.headers["Location"].startswith("/login"), console.headers["Location"]
    authorize = browser.get(f"{gatehouse.b}/oauth/authorize", params={
        "response_type": "code", "client_id": acme.web_id, "redirect_uri": REDIRECT_URI, "scope": "openid",
        "state": "s", "nonce": "n", "code_challenge": _b64url(hashlib.sha256(b"v" * 43).digest()),
        "code_challenge_method": "S256",
    }, allow_redirects=False, timeout=10)
    assert authorize.status_code == 302, authorize.status_code
    assert authorize.headers["Location"].startswith("/login"), authorize.headers["Location"]
    assert userinfo(gatehouse.b, tokens["access_token"]).status_code == 401
    refused = refresh(gatehouse.b, acme, tokens["refresh_token"])
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_grant"
    # Signing in again, at either server, says why.
    again = login(requests.Session(), gatehouse.b, EMAIL, PASSWORD)
    assert again.status_code == 200
    assert "Your access to Acme Corp is suspended." in again.text


def test_mail_asked_for_at_one_server_is_delivered_by_the_worker(gatehouse, acme):
    browser = requests.Session()
    deliveries = worker_deliveries(gatehouse)
    token = csrf_token(browser, f"{gatehouse.a}/password/reset")
    asked = browser.post(f"{gatehouse.a}/password/reset", data={"csrfmiddlewaretoken": token, "email": EMAIL},
                         timeout=10)
    assert asked.status_code == 200

    email = delivered(gatehouse, kind="password_reset")
    assert email.recipient == EMAIL
    assert email.attempts == 1
    # Sent by the worker process: the web servers only hand the row's id to the broker (not eager). The
    # worker logs the task's success just after it marks the row sent.
    deadline = time.monotonic() + 5
    while worker_deliveries(gatehouse) <= deliveries:
        assert time.monotonic() < deadline, log_tail(gatehouse.logs["worker"])
        time.sleep(0.05)
    body = received_body(gatehouse, email.message_id)
    link = re.search(rf"{re.escape(gatehouse.a)}/password/reset/\S+", body).group(0)

    # The link names the issuer (A); B, serving the same site, takes it: a new password set at B...
    at_b = link.replace(gatehouse.a, gatehouse.b)
    new_password = "a-new-password-set-at-b"
    token = csrf_token(browser, at_b)
    reset = browser.post(at_b, data={"csrfmiddlewaretoken": token, "new_password1": new_password,
                                     "new_password2": new_password}, allow_redirects=False, timeout=10)
    assert reset.status_code == 302, reset.text[:500]
    # ...signs in at A, and the old one no longer does.
    assert login(requests.Session(), gatehouse.a, EMAIL, PASSWORD).status_code == 200
    assert login(requests.Session(), gatehouse.a, EMAIL, new_password).status_code == 302


def test_each_server_logs_one_access_line_a_request_with_the_client_and_no_credentials(gatehouse, acme):
    # The server as production runs it (config/server.py): granian, whose access line the application writes
    # (config/access_log.py) to standard output, here the server's log file.
    marker = uuid.uuid4().hex
    token = requests.post(f"{gatehouse.b}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(acme.machine_id, acme.machine_secret), headers={"User-Agent": f"probe-{marker}"},
                          timeout=10)
    assert token.status_code == 200, token.text
    callback = requests.get(f"{gatehouse.b}/login", params={"code": "a-code-in-a-url", "next": "/account/"},
                            headers={"User-Agent": f"probe-{marker}", "Referer": f"{gatehouse.a}/#access_token=x1"},
                            timeout=10)
    assert callback.status_code == 200
    deadline = time.monotonic() + 5
    while len(written := [line for line in gatehouse.logs["B"].read_text(errors="replace").splitlines()
                          if f'"probe-{marker}"' in line]) < 2:
        assert time.monotonic() < deadline, log_tail(gatehouse.logs["B"])
        time.sleep(0.05)
    token_line, page_line = written
    assert re.fullmatch(
        rf'127\.0\.0\.1 - {re.escape(acme.machine_id)} \[\d\d/\w{{3}}/\d{{4}}:\d\d:\d\d:\d\d [+-]\d{{4}}\] '
        rf'"POST /oauth/token HTTP/1\.1" 200 {len(token.content)} "-" "probe-{marker}"', token_line), token_line
    assert f'"GET /login?code=[redacted]&next=%2Faccount%2F HTTP/1.1" 200 {len(callback.content)} ' in page_line
    assert f'"{gatehouse.a}/#access_token=[redacted]"' in page_line
    assert acme.machine_secret not in token_line
    assert "a-code-in-a-url" not in page_line
    assert token.json()["access_token"] not in gatehouse.logs["B"].read_text(errors="replace")


def test_a_machine_app_disabled_elsewhere_gets_no_more_jwts_from_either_server(gatehouse, acme):
    # Each server keeps the client's rows for its JWT path in memory (config.postgresql.client_rows)
    # and forgets them when PostgreSQL notifies that a change committed, whichever process made it.
    api_create(org=acme.org, name="Orders", identifier="https://orders.acme.test", scopes=[("orders:read", "Read")])
    application = Application.objects.get(client_id=acme.machine_id)
    application_api_scopes_set(application=application, scopes=ApiScope.objects.filter(name="orders:read"))

    def jwt_at(base: str) -> requests.Response:
        return requests.post(f"{base}/oauth/token", data={"grant_type": "client_credentials", "scope": "orders:read"},
                             auth=(acme.machine_id, acme.machine_secret), timeout=10)

    for base in (gatehouse.a, gatehouse.b, gatehouse.a, gatehouse.b):  # the second time from each copy
        issued = jwt_at(base)
        assert issued.status_code == 200, issued.text
        assert issued.json()["access_token"].count(".") == 2

    application_disable(application=application, actor=acme.owner)  # committed by this process, neither server
    for base in (gatehouse.a, gatehouse.b):
        deadline = time.monotonic() + 2
        while (refused := jwt_at(base)).status_code == 200:
            assert time.monotonic() < deadline, f"{base} still issues tokens to a disabled app"
            time.sleep(0.01)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"

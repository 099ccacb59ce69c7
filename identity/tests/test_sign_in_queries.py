"""The statements a sign-in and the authorize request after it no longer repeat (issue #14 item 5;
bench/RESULTS.md has the figures):

- a password POST reads the person's memberships once, and works out the steps left (MFA requirement,
  forced or expired password) once;
- /oauth/authorize, after sign-in, loads its client and its API scopes once, for both of oauthlib's
  validations, the view and the audit row;
- the token request that redeems a code reads the code's grant once for oauthlib's six questions about
  it, its resource included (DOT read it again inside the saving transaction);
- a console 404 or 403 inside an org does not look the org up again for its sidebar;
- the signed-in session is written once, at the response (config/sessions: it was an INSERT in a savepoint,
  then an UPDATE), and a sign-in an app started reads that app's org once, and answers with the app's code;
  the sign-in page it starts from writes no session (it was an anonymous one, deleted again by the POST).
"""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import RefreshToken

from applications.models import AuthorizationRecord
from audit.models import AuditEvent
from identity.models import PasswordPolicy
from identity.tests.oidc_support import make_web_app

pytestmark = pytest.mark.django_db


def selects_from(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in q["sql"]]


def post_password(client, email: str, password: str, next_url: str = ""):
    return client.post("/login", {"email": email, "password": password, "next": next_url})


def authorize_query(app, verifier: str, *, nonce: str) -> str:
    """/oauth/authorize's query for `app`: openid email, state "st", PKCE S256 for `verifier`."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return urlencode({"response_type": "code", "client_id": app.client_id, "redirect_uri": app.redirect_uri,
                      "scope": "openid email", "state": "st", "nonce": nonce, "code_challenge": challenge,
                      "code_challenge_method": "S256"})


def test_a_password_sign_in_reads_memberships_and_the_password_rules_once(client, org, org_admin, password):
    PasswordPolicy.objects.create(org=org, min_length=14)
    with CaptureQueriesContext(connection) as queries:
        response = post_password(client, org_admin.email, password)

    assert response.status_code == 302
    assert response["Location"] == "/console/"  # an admin lands in the console: the memberships said so
    assert len(selects_from(queries, "orgs_membership")) == 1
    assert len(selects_from(queries, "identity_passwordchangerequired")) == 1
    # The org's password policy, read through its org (PostgreSQL keeps the row: test_client_rows_reads.py).
    assert len([q for q in queries.captured_queries if '"identity_passwordpolicy"' in q["sql"]]) == 1
    # The sign-in is recorded where it happened and copied into the org (audit/fanout.py): the copy's org
    # came from the same memberships.
    assert AuditEvent.objects.filter(action="login.member_succeeded", org=org, target_id=str(org_admin.pk)).exists()


def _session_writes(queries) -> list[str]:
    return [q["sql"].split()[0] for q in queries.captured_queries
            if '"django_session"' in q["sql"] and not q["sql"].startswith("SELECT")]


def test_a_sign_in_writes_the_new_session_once(client, org, org_member, password):
    app = make_web_app(org)
    next_url = f"/oauth/authorize?{authorize_query(app, secrets.token_urlsafe(48), nonce='n')}"
    # The sign-in page an app sent the browser to writes no session: the POST notes the app's org.
    with CaptureQueriesContext(connection) as page_queries:
        assert client.get("/login", {"next": next_url}).status_code == 200
    assert _session_writes(page_queries) == []
    assert "gatehouse_session" not in client.cookies
    with CaptureQueriesContext(connection) as queries:
        response = post_password(client, org_member.email, password, next_url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{app.redirect_uri}?")  # the code, in the sign-in's answer
    assert _session_writes(queries) == ["INSERT"]  # the signed-in session's row, nothing before it
    # The app's org (its lockout threshold, its audit log) is read once, with the app's client id; the
    # application itself once, by /oauth/authorize's answer (as when the browser asked it separately).
    assert len([q for q in selects_from(queries, "orgs_organization") if "identity_passwordpolicy" not in q]) == 1
    assert len(selects_from(queries, "applications_application")) == 1
    authorized = client.get(next_url)  # the cookie's session is there, signed in: the app gets its code
    assert authorized.status_code == 302
    assert authorized["Location"].startswith(f"{app.redirect_uri}?")
    assert "code" in parse_qs(urlparse(authorized["Location"]).query)


def test_a_sign_in_after_a_refused_attempt_gives_up_that_session(client, org, org_member, password):
    app = make_web_app(org)
    next_url = f"/oauth/authorize?{authorize_query(app, secrets.token_urlsafe(48), nonce='n')}"
    client.get("/login", {"next": next_url})
    # A wrong password starts the flow: its session notes the app's org (lockout threshold, branding).
    refused = post_password(client, org_member.email, "not-the-password", next_url)
    assert refused.status_code == 200
    assert f"<strong>{org.name}</strong>" in refused.content.decode()  # the app's org's look, from the POST
    old_key = client.cookies["gatehouse_session"].value
    with CaptureQueriesContext(connection) as queries:
        response = post_password(client, org_member.email, password, next_url)

    assert response["Location"].startswith(f"{app.redirect_uri}?")
    assert _session_writes(queries) == ["DELETE", "INSERT"]  # the anonymous session's row, then the signed-in one's
    assert client.cookies["gatehouse_session"].value != old_key


def test_a_member_whose_org_is_suspended_is_still_refused(client, org, org_member, password):
    org.status = org.Status.SUSPENDED
    org.save(update_fields=["status"])

    response = post_password(client, org_member.email, password)

    assert response.status_code == 200
    assert "suspended" in response.content.decode()


def test_authorize_after_sign_in_loads_its_client_once(client, org, org_member, password):
    app = make_web_app(org)  # trusted: no consent page
    query = authorize_query(app, secrets.token_urlsafe(48), nonce="no")
    assert post_password(client, org_member.email, password).status_code == 302

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/oauth/authorize?{query}")

    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == app.redirect_uri
    assert parse_qs(location.query)["state"] == ["st"]
    # One lookup when the view validates the request; oauthlib's second validation, to issue the code, the
    # view and the audit row reuse what was loaded (it was five, then two). So do the client's API scopes.
    assert len(selects_from(queries, "applications_application")) == 1
    assert len(selects_from(queries, "applications_apiscope")) == 1
    event = AuditEvent.objects.get(action="login.authorized")
    assert (event.org, event.target_id) == (org, str(app_pk(app.client_id)))


def test_redeeming_a_code_reads_its_grant_once_and_still_checks_everything(client, org, org_member, password):
    app = make_web_app(org)
    verifier = secrets.token_urlsafe(48)
    query = authorize_query(app, verifier, nonce="the-nonce")
    assert post_password(client, org_member.email, password).status_code == 302
    code = parse_qs(urlparse(client.get(f"/oauth/authorize?{query}")["Location"]).query)["code"][0]
    basic = "Basic " + base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()

    def redeem(**changes):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri,
                "code_verifier": verifier, **changes}
        return client.post("/oauth/token", form, HTTP_AUTHORIZATION=basic)

    # Each check the grant's row serves still refuses, without spending the code.
    assert redeem(code_verifier=secrets.token_urlsafe(48)).json()["error"] == "invalid_grant"  # PKCE
    assert redeem(redirect_uri=app.redirect_uri + "/other").json()["error"] == "invalid_grant"
    with CaptureQueriesContext(connection) as queries:
        response = redeem()

    assert response.status_code == 200, response.content
    # Read before the next request: the test client's next request empties the connection's query log.
    assert len(selects_from(queries, "oauth2_provider_grant")) == 1  # it was eight
    assert not selects_from(queries, "directory_user")  # read with the grant
    assert not selects_from(queries, "oauth2_provider_refreshtoken")  # its family is the one just written
    id_token = response.json()["id_token"]
    keys = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    claims = jwt.decode(id_token, keys[jwt.get_unverified_header(id_token)["kid"]].key, algorithms=["RS256"],
                        audience=app.client_id)
    assert (claims["nonce"], claims["email"]) == ("the-nonce", org_member.email)
    assert redeem().json()["error"] == "invalid_grant"  # spent
    # A replayed code still finds what it produced, through the family the redemption recorded.
    assert AuthorizationRecord.objects.get().token_family == RefreshToken.objects.get().token_family
    assert AuditEvent.objects.filter(action="token.code_replayed").exists()
    assert RefreshToken.objects.get().revoked is not None


def app_pk(client_id: str) -> int:
    from applications.models import Application

    return Application.objects.get(client_id=client_id).pk


def test_a_console_404_inside_an_org_looks_the_org_up_once(org_admin_client, org):
    with CaptureQueriesContext(connection) as queries:
        response = org_admin_client.get(f"/console/{org.slug}/users/999999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'id="nav-org-heading"' in page  # the org's sidebar, as before
    assert len(selects_from(queries, "orgs_organization")) == 1


def test_a_console_404_for_an_unknown_org_names_no_org(org_admin_client):
    with CaptureQueriesContext(connection) as queries:
        response = org_admin_client.get("/console/nope/users/1/")

    assert response.status_code == 404
    assert 'id="nav-org-heading"' not in response.content.decode()
    assert len(selects_from(queries, "orgs_organization")) == 1

"""The statements the token and userinfo endpoints no longer make (bench/RESULTS.md has the figures).

- the client's org is joined to the client lookup, not selected again for is_usable();
- a successful token response is not followed by a SELECT of the access token just stored (DOT does it
  only to send app_authorized, which nothing receives); it still is once a receiver is connected;
- a client-credentials token is one INSERT, without BEGIN/COMMIT around it;
- a refresh stores the new access token with its ID token without re-verifying the JWT just signed
  (no key lookup, no SELECT by jti).
"""

import base64
import hashlib
import secrets
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model
from oauth2_provider.signals import app_authorized

from applications.models import Application, AuthorizationRecord
from identity.tests.oidc_support import make_machine_app, make_web_app

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def statements(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def selects_from(sqls: list[str], table: str) -> list[str]:
    return [sql for sql in sqls if sql.lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in sql]


def client_credentials(client, machine):
    return client.post("/oauth/token", "grant_type=client_credentials",
                       content_type="application/x-www-form-urlencoded",
                       HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_client_credentials_is_one_select_and_one_insert(client, org):
    machine = make_machine_app(org)
    with CaptureQueriesContext(connection) as queries:
        response = client_credentials(client, machine)
    assert response.status_code == 200, response.content
    sqls = statements(queries)
    assert len(sqls) == 2, sqls
    assert 'JOIN "orgs_organization"' in sqls[0]
    assert sqls[1].lstrip().upper().startswith("INSERT")


def test_a_connected_app_authorized_receiver_still_gets_the_token(client, org):
    machine = make_machine_app(org)
    received = []

    def receiver(sender, request, token, **kwargs):
        received.append(token)

    app_authorized.connect(receiver)
    try:
        response = client_credentials(client, machine)
    finally:
        app_authorized.disconnect(receiver)
    assert response.status_code == 200
    assert [token.token for token in received] == [response.json()["access_token"]]


def mint_refresh_token(user, app, *, auth_time=None) -> str:
    """An access + refresh token pair as the code flow leaves it, with its AuthorizationRecord."""
    now = timezone.now()
    family = uuid.uuid4()
    access = get_access_token_model().objects.create(user=user, application=app, scope="openid profile email",
                                                     expires=now + timedelta(hours=1), token=secrets.token_urlsafe(30))
    value = secrets.token_urlsafe(30)
    get_refresh_token_model().objects.create(user=user, application=app, access_token=access, token=value,
                                             token_family=family)
    AuthorizationRecord.objects.create(code_checksum=hashlib.sha256(value.encode()).hexdigest(), application=app,
                                       user=user, sid="sid-1", amr=["pwd"], auth_time=auth_time or now,
                                       token_family=family, redeemed_at=now)
    return value


def test_refresh_does_not_reverify_the_id_token_it_just_signed(client, org, org_member, group):
    group.memberships.create(user=org_member)
    web = make_web_app(org)
    app = Application.objects.get(client_id=web.client_id)
    warm_up = mint_refresh_token(org_member, app)  # the first signature loads the signing key
    assert client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": warm_up},
                       HTTP_AUTHORIZATION=basic(web.client_id, web.client_secret)).status_code == 200
    refresh_token = mint_refresh_token(org_member, app)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token},
                               HTTP_AUTHORIZATION=basic(web.client_id, web.client_secret))
    assert response.status_code == 200, response.content
    sqls = statements(queries)
    assert not [sql for sql in selects_from(sqls, "identity_signingkey") if '"public_jwk"' in sql]
    assert not selects_from(sqls, "oauth2_provider_idtoken")
    assert not selects_from(sqls, "orgs_organization")
    # The new access token points at the ID token that came back.
    body = response.json()
    access = get_access_token_model().objects.get(token=body["access_token"])
    assert access.id_token == get_id_token_model().objects.filter(user=org_member).latest("created")
    assert access.source_refresh_token.token == refresh_token


def test_userinfo_loads_token_client_org_and_user_in_one_query(client, org, org_member):
    web = make_web_app(org)
    app = Application.objects.get(client_id=web.client_id)
    token = get_access_token_model().objects.create(user=org_member, application=app, scope="openid profile",
                                                    expires=timezone.now() + timedelta(hours=1),
                                                    token=secrets.token_urlsafe(30))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token.token}")
    assert response.status_code == 200, response.content
    assert response.json()["org"] == {"id": str(org.pk), "slug": org.slug}
    sqls = statements(queries)
    assert not selects_from(sqls, "orgs_organization")
    assert 'JOIN "orgs_organization"' in sqls[0]

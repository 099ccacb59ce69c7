"""The reads every authorization, sign-in page and token request makes of how a client is set up (the app with
its org, its API scopes, the org's branding, logo and password policy, the active signing key's kid) are kept
in each process's copy of client rows (config/postgresql/client_rows.py) on PostgreSQL, and forgotten when a
change commits.

As in test_oidc_client_rows.py, these run outside a test transaction (a transaction sees its own changes, so
the copy is not used inside one), change rows through the services the console calls, and check what a
browser or an app sees next, and how many statements the request ran.
"""

import io
from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from applications.models import Application
from applications.selectors import application_by_client_id
from applications.services import application_disable
from config.postgresql.client_rows import TABLES, client_rows
from identity import signing
from identity.models import PasswordPolicy, SigningKey
from identity.tests.client_rows_support import heard_everything_so_far, until
from identity.tests.oidc_support import authorize_path, make_web_app
from orgs.branding import organization_branding_update, organization_logo_set
from orgs.models import Organization, OrgLogo
from orgs.settings_services import password_policy_update

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _sign_in_page(authorize_url: str) -> tuple[int, str, int]:
    """An anonymous browser sent by the app: /oauth/authorize, then the sign-in page it redirects to. Returns
    the page's status, its HTML and the statements both requests ran."""
    browser = Client()
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(authorize_url)
        if response.status_code != 302:
            return response.status_code, response.content.decode(), len(queries.captured_queries)
        page = browser.get(response["Location"])
    return page.status_code, page.content.decode(), len(queries.captured_queries)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 30, 40)).save(out, format="PNG")
    return out.getvalue()


def test_the_tables_watched_are_those_the_kept_reads_read():
    kept = [Application, Application.api_scopes.through, Application.api_scopes.field.related_model, Organization,
            OrgLogo, SigningKey, PasswordPolicy]
    kept.append(Application.api_scopes.field.related_model._meta.get_field("api").related_model)
    assert {model._meta.db_table for model in kept} == set(TABLES)


def test_a_sign_in_page_reads_its_app_and_branding_once_and_sees_each_change_next(listening, org):
    web = make_web_app(org, client_id="payroll")
    url = authorize_path(web, state="s")
    heard_everything_so_far()
    status, html, first = _sign_in_page(url)
    assert status == 200
    assert "Acme Corp" in html
    status, html, again = _sign_in_page(url)
    assert status == 200
    assert "Acme Corp" in html
    # The second browser's app, org, API scopes and branding came from the copy.
    assert again < first

    organization_branding_update(org=Organization.objects.get(pk=org.pk), actor=None, display_name="Acme Payroll")
    until(lambda: not client_rows._entries, "forgotten after the branding changed")
    status, html, _ = _sign_in_page(url)
    assert "Acme Payroll" in html

    _sign_in_page(url)  # kept again
    logo = organization_logo_set(org=Organization.objects.get(pk=org.pk), actor=None, data=_png())
    until(lambda: not client_rows._entries, "forgotten after the logo changed")
    status, html, _ = _sign_in_page(url)
    assert f"/acme/logo?v={logo.digest[:16]}" in html

    _sign_in_page(url)
    application_disable(application=Application.objects.get(client_id="payroll"), actor=None)
    until(lambda: not client_rows._entries, "forgotten after the app was disabled")
    status, html, _ = _sign_in_page(url)
    assert status in (400, 403)
    assert "Sign in" not in html


def _password_sign_in(email: str, password: str) -> tuple[str, int]:
    """A fresh browser's password POST: where it sends the browser, and how many statements read the org's
    password policy."""
    with CaptureQueriesContext(connection) as queries:
        response = Client().post("/login", {"email": email, "password": password})
    assert response.status_code == 302
    policy_reads = [q for q in queries.captured_queries if '"identity_passwordpolicy"' in q["sql"]]
    return response["Location"], len(policy_reads)


def test_a_password_policy_is_read_once_and_a_new_maximum_age_holds_at_the_next_sign_in(listening, org, org_member,
                                                                                        password):
    type(org_member).objects.filter(pk=org_member.pk).update(password_changed_at=timezone.now() - timedelta(days=40))
    heard_everything_so_far()
    assert _password_sign_in(org_member.email, password) == ("/account/", 1)
    assert _password_sign_in(org_member.email, password) == ("/account/", 0)  # kept: an org with no policy too

    password_policy_update(org=Organization.objects.get(pk=org.pk), actor=None, min_length=12, check_common=True,
                           history_count=0, max_age_days=30)
    until(lambda: not client_rows._entries, "forgotten after the policy changed")
    assert _password_sign_in(org_member.email, password) == ("/login/password-change", 1)
    assert _password_sign_in(org_member.email, password) == ("/login/password-change", 0)

    PasswordPolicy.objects.filter(org=org).delete()  # as plain SQL would: the trigger notifies all the same
    until(lambda: not client_rows._entries, "forgotten after the policy was deleted")
    assert _password_sign_in(org_member.email, password) == ("/account/", 1)


def test_each_caller_gets_its_own_objects_from_kept_rows(listening, org):
    make_web_app(org, client_id="payroll")
    heard_everything_so_far()
    first = application_by_client_id(client_id="payroll")
    with CaptureQueriesContext(connection) as queries:
        second = application_by_client_id(client_id="payroll")
    assert len(queries.captured_queries) == 0
    assert second is not first
    assert second.org is not first.org
    first.name, first.org.name, first.redirect_uris = "changed", "changed", "https://evil.example/cb"
    third = application_by_client_id(client_id="payroll")
    assert (third.name, third.org.name, third.redirect_uris) == ("Web RP", "Acme Corp", "https://rp.example/callback")
    # An unknown client is read every time: the copy keeps no empty answer.
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert application_by_client_id(client_id="nobody") is None
        assert len(queries.captured_queries) == 1


def test_a_rotated_signing_key_signs_the_next_token(listening, db):
    signing.signing_key_ensure()
    heard_everything_so_far()
    before = signing._active_kid()
    with CaptureQueriesContext(connection) as queries:
        assert signing._active_kid() == before
    assert len(queries.captured_queries) == 0

    signing.signing_key_rotate(actor=None, force=True)
    until(lambda: not client_rows._entries, "forgotten after the rotation")
    after = SigningKey.objects.get(state=SigningKey.State.ACTIVE).kid
    assert after != before
    token = signing.jwt_sign({"sub": "x"}, typ="JWT")
    assert jwt.get_unverified_header(token)["kid"] == after

"""SessionUserBackend: the signed-in user read with SQL built once, deciding as ModelBackend did."""

from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.auth_backends import _USER_BY_PK, SessionUserBackend
from directory.models import User
from identity.middleware import SESSION_SID_KEY
from identity.models import UserSession
from identity.services import session_sign_in_for_tests

pytestmark = pytest.mark.django_db


def test_a_signed_in_session_names_the_backend_and_reads_its_user_in_one_statement(client, org_member):
    session_sign_in_for_tests(client=client, user=org_member)
    assert client.session[BACKEND_SESSION_KEY] == "directory.auth_backends.SessionUserBackend"

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/account/")

    assert response.status_code == 200
    assert response.wsgi_request.user == org_member
    assert org_member.email in response.content.decode()
    user_reads = [q["sql"] for q in queries if 'FROM "directory_user"' in q["sql"]]
    assert len(user_reads) == 1
    assert _USER_BY_PK.replayed()


def test_a_disabled_account_is_nobody(client, org_member):
    session_sign_in_for_tests(client=client, user=org_member)
    User.objects.filter(pk=org_member.pk).update(status=User.Status.DISABLED)

    response = client.get("/account/")

    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/"
    assert SessionUserBackend().get_user(org_member.pk) is None


def test_an_unknown_or_malformed_id_is_nobody(org_member):
    assert SessionUserBackend().get_user(org_member.pk) == org_member
    assert SessionUserBackend().get_user(10**9) is None
    assert SessionUserBackend().get_user(None) is None


def test_a_session_signed_in_before_this_backend_still_reads_its_user(client, org_member):
    # Sessions written by earlier releases name Django's ModelBackend.
    client.force_login(org_member, backend="django.contrib.auth.backends.ModelBackend")
    user_session = UserSession.objects.create(user=org_member, expires_at=timezone.now() + timedelta(hours=1))
    session = client.session
    session[SESSION_SID_KEY] = user_session.sid
    session.save()

    response = client.get("/account/")

    assert response.status_code == 200
    assert response.wsgi_request.user == org_member

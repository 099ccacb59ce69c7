"""Signing out at /logout: GET only asks, POST with a CSRF token signs out."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from audit.models import AuditEvent
from identity.models import UserSession

LOGOUT_URL = "/logout"


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _csrf_token(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the page has no CSRF token"
    return match.group(1)


def _is_signed_in(client) -> bool:
    response = client.get("/account/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    return False


@pytest.mark.django_db
def test_get_shows_a_confirmation_and_does_not_sign_out(client, sign_in, org_member):
    sign_in(org_member)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert f"You are signed in as {org_member.email}." in html
    assert re.search(r'<form method="post" action="/logout">', html)
    assert re.search(r'<button type="submit">\s*Sign out\s*</button>', html)
    assert _is_signed_in(client)
    assert UserSession.objects.get(user=org_member).ended_at is None
    assert not AuditEvent.objects.filter(action="session.ended").exists()


@pytest.mark.django_db
def test_get_when_signed_out_offers_sign_in(client):
    response = client.get(LOGOUT_URL)

    assert response.status_code == 200
    assert "You are not signed in." in response.content.decode()


@pytest.mark.django_db
def test_post_without_csrf_token_is_refused_and_stays_signed_in(csrf_client, sign_in, org_member):
    sign_in(org_member, csrf_client)
    csrf_client.get(LOGOUT_URL)  # the browser has a CSRF cookie, but the forged form carries no token

    response = csrf_client.post(LOGOUT_URL)

    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
    assert _is_signed_in(csrf_client)
    assert UserSession.objects.get(user=org_member).ended_at is None
    assert not AuditEvent.objects.filter(action="session.ended").exists()


@pytest.mark.django_db
def test_post_with_a_wrong_csrf_token_is_refused(csrf_client, sign_in, org_member):
    sign_in(org_member, csrf_client)
    csrf_client.get(LOGOUT_URL)

    response = csrf_client.post(LOGOUT_URL, {"csrfmiddlewaretoken": "x" * 64})

    assert response.status_code == 403
    assert _is_signed_in(csrf_client)


@pytest.mark.django_db
def test_post_with_csrf_signs_out_and_ends_the_user_session(csrf_client, sign_in, org_member):
    sign_in(org_member, csrf_client)
    user_session = UserSession.objects.get(user=org_member)
    old_cookie = csrf_client.cookies[settings.SESSION_COOKIE_NAME].value
    token = _csrf_token(csrf_client.get(LOGOUT_URL))

    response = csrf_client.post(LOGOUT_URL, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == "/login"
    # The server forgot the old session at once, not only when the browser next calls.
    assert not Session.objects.filter(session_key=old_cookie).exists()
    assert "You have been signed out." in csrf_client.get("/login").content.decode()
    assert not _is_signed_in(csrf_client)

    user_session.refresh_from_db()
    assert user_session.ended_at is not None
    assert user_session.end_reason == UserSession.EndReason.LOGOUT
    assert not user_session.is_live

    event = AuditEvent.objects.get(action="session.ended")
    assert event.actor == org_member
    assert event.metadata == {"reason": "logout", "sid": user_session.sid, "tokens_revoked": 0}
    assert event.ip == "127.0.0.1"

    # Someone who copied the cookie before sign-out cannot use it afterwards.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert not _is_signed_in(replay)


@pytest.mark.django_db
def test_sign_out_ends_only_this_browsers_session(client, sign_in, org_member):
    laptop = sign_in(org_member, Client())
    phone = sign_in(org_member, Client())
    assert UserSession.objects.live().filter(user=org_member).count() == 2

    phone.post(LOGOUT_URL)

    assert not _is_signed_in(phone)
    assert _is_signed_in(laptop)
    assert UserSession.objects.live().filter(user=org_member).count() == 1


@pytest.mark.django_db
def test_post_when_signed_out_writes_no_audit(client):
    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_logout_refuses_other_methods(client, sign_in, org_member):
    sign_in(org_member)

    assert client.put(LOGOUT_URL).status_code == 405
    assert _is_signed_in(client)

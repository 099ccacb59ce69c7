"""UserSession rows: the middleware that ties a browser to its row, the purge task, the cookies."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from directory.tests.factories import DEFAULT_PASSWORD, UserFactory
from identity.middleware import SESSION_SID_KEY
from identity.models import UserSession
from identity.tasks import expired_sessions_purge

BASE_DIR = Path(settings.BASE_DIR)


def _account(client):
    return client.get("/account/")


def _assert_signed_out(client):
    response = _account(client)
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/"


# --- middleware -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_live_user_session_keeps_the_browser_signed_in(client, sign_in, org_member):
    sign_in(org_member)

    response = _account(client)

    assert response.status_code == 200
    assert response.wsgi_request.user_session == UserSession.objects.get(user=org_member)


@pytest.mark.django_db
def test_ending_the_row_signs_the_browser_out_on_its_next_request(client, sign_in, org_member):
    sign_in(org_member)
    assert _account(client).status_code == 200

    UserSession.objects.filter(user=org_member).update(
        ended_at=timezone.now(), end_reason=UserSession.EndReason.REVOKED)

    _assert_signed_out(client)
    # Signed out for good, not just on that one request.
    _assert_signed_out(client)


@pytest.mark.django_db
def test_expired_row_signs_the_browser_out(client, sign_in, org_member):
    sign_in(org_member)
    UserSession.objects.filter(user=org_member).update(expires_at=timezone.now() - timedelta(seconds=1))

    _assert_signed_out(client)


@pytest.mark.django_db
def test_session_without_sid_is_signed_out(client, org_member):
    client.force_login(org_member)
    assert SESSION_SID_KEY not in client.session

    _assert_signed_out(client)


@pytest.mark.django_db
def test_session_with_an_unknown_sid_is_signed_out(client, org_member):
    client.force_login(org_member)
    session = client.session
    session[SESSION_SID_KEY] = "made-up"
    session.save()

    _assert_signed_out(client)


@pytest.mark.django_db
def test_session_carrying_another_users_sid_is_signed_out(client, sign_in, org_member, org_admin):
    other = sign_in(org_admin, Client())
    other_sid = other.session[SESSION_SID_KEY]
    client.force_login(org_member)
    session = client.session
    session[SESSION_SID_KEY] = other_sid
    session.save()

    _assert_signed_out(client)
    assert _account(other).status_code == 200


@pytest.mark.django_db
def test_last_seen_is_refreshed_after_a_minute_of_quiet(client, sign_in, org_member):
    sign_in(org_member)
    long_ago = timezone.now() - timedelta(hours=1)
    UserSession.objects.filter(user=org_member).update(last_seen_at=long_ago)

    _account(client)

    assert UserSession.objects.get(user=org_member).last_seen_at > long_ago + timedelta(minutes=59)


# --- purge task -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_expired_sessions_purge_closes_expired_rows_and_leaves_live_ones(org_member, org_admin):
    now = timezone.now()
    expired = UserSession.objects.create(user=org_member, expires_at=now - timedelta(minutes=1))
    live = UserSession.objects.create(user=org_member, expires_at=now + timedelta(hours=1))
    other_live = UserSession.objects.create(user=org_admin, expires_at=now + timedelta(hours=1))
    signed_out_at = now - timedelta(hours=2)
    already_ended = UserSession.objects.create(
        user=org_admin, expires_at=now - timedelta(hours=1),
        ended_at=signed_out_at, end_reason=UserSession.EndReason.LOGOUT)

    result = expired_sessions_purge()

    assert result["sessions_closed"] == 1
    expired.refresh_from_db()
    assert expired.ended_at is not None
    assert expired.end_reason == UserSession.EndReason.EXPIRED
    for row in (live, other_live):
        row.refresh_from_db()
        assert row.ended_at is None
        assert row.end_reason == ""
    already_ended.refresh_from_db()
    assert already_ended.ended_at == signed_out_at
    assert already_ended.end_reason == UserSession.EndReason.LOGOUT

    # Idempotent: a second run finds nothing to do.
    assert expired_sessions_purge()["sessions_closed"] == 0


@pytest.mark.django_db
def test_expired_sessions_purge_deletes_expired_django_sessions(client, sign_in, org_member):
    sign_in(org_member)
    live_key = client.session.session_key
    Session.objects.create(session_key="stale", session_data="", expire_date=timezone.now() - timedelta(days=1))

    assert expired_sessions_purge()["django_sessions_deleted"] == 1

    assert not Session.objects.filter(session_key="stale").exists()
    assert Session.objects.filter(session_key=live_key).exists()
    assert _account(client).status_code == 200


@pytest.mark.django_db
def test_expired_sessions_purge_runs_as_a_celery_task(org_member):
    UserSession.objects.create(user=org_member, expires_at=timezone.now() - timedelta(minutes=1))

    expired_sessions_purge.delay()

    assert not UserSession.objects.live().exists()


# --- cookies --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_sets_gatehouse_session_cookie_httponly_lax(client):
    user = UserFactory(email="cookie@example.test")

    response = client.post("/login", {"email": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    cookie = response.cookies["gatehouse_session"]
    assert cookie.value
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert "sessionid" not in response.cookies
    # Plain http issuer (the embedded default): not Secure, or the browser would drop it.
    assert not cookie["secure"]


@pytest.mark.django_db
def test_login_page_sets_gatehouse_csrf_cookie(client):
    response = client.get("/login")

    cookie = response.cookies["gatehouse_csrf"]
    assert cookie.value
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True
    assert "csrftoken" not in response.cookies


def _settings_for_issuer(issuer: str, var_dir: Path) -> dict:
    """Load config.settings in a fresh interpreter with GATEHOUSE_ISSUER set, as a deployment would."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "GATEHOUSE_TRUSTED_PROXIES", "DJANGO_SETTINGS_MODULE"}}
    env.update(GATEHOUSE_ISSUER=issuer, GATEHOUSE_VAR_DIR=str(var_dir))
    names = ["SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
             "CSRF_COOKIE_NAME", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_SAMESITE", "GATEHOUSE_ISSUER"]
    code = (
        "import json, config.settings as s; "
        f"print(json.dumps({{name: getattr(s, name) for name in {names!r}}}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def issuer_settings(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("var")
    return {
        "https": _settings_for_issuer("https://id.example.test/", var_dir),
        "http": _settings_for_issuer("http://127.0.0.1:8000", var_dir),
    }


def test_https_issuer_makes_both_cookies_secure(issuer_settings):
    secure = issuer_settings["https"]

    assert secure["GATEHOUSE_ISSUER"] == "https://id.example.test"
    assert secure["SESSION_COOKIE_SECURE"] is True
    assert secure["CSRF_COOKIE_SECURE"] is True
    assert secure["SESSION_COOKIE_NAME"] == "gatehouse_session"
    assert secure["CSRF_COOKIE_NAME"] == "gatehouse_csrf"
    assert secure["SESSION_COOKIE_HTTPONLY"] is True
    assert secure["SESSION_COOKIE_SAMESITE"] == secure["CSRF_COOKIE_SAMESITE"] == "Lax"


def test_http_issuer_leaves_cookies_without_secure(issuer_settings):
    plain = issuer_settings["http"]

    assert plain["SESSION_COOKIE_SECURE"] is False
    assert plain["CSRF_COOKIE_SECURE"] is False


@pytest.mark.django_db
def test_sign_in_under_https_issuer_settings_sends_secure_cookies(issuer_settings):
    cookie_settings = {key: value for key, value in issuer_settings["https"].items() if key != "GATEHOUSE_ISSUER"}
    user = UserFactory(email="tls@example.test")
    client = Client()

    with override_settings(**cookie_settings):
        page = client.get("/login", secure=True)
        response = client.post("/login", {"email": user.email, "password": DEFAULT_PASSWORD}, secure=True)

    assert page.cookies["gatehouse_csrf"]["secure"] is True
    assert response.status_code == 302
    assert response.cookies["gatehouse_session"]["secure"] is True
    assert response.cookies["gatehouse_session"]["httponly"] is True


@pytest.mark.django_db
def test_disabling_a_user_signs_their_browser_out(client, sign_in, org_member):
    sign_in(org_member)
    assert _account(client).status_code == 200

    org_member.status = org_member.Status.DISABLED
    org_member.save()

    _assert_signed_out(client)


def test_signing_in_again_ends_the_previous_session_row(client, sign_in, org_admin, org_member):
    from identity.models import UserSession

    sign_in(org_admin)
    first = UserSession.objects.get(user=org_admin)
    response = client.post("/login", {"email": org_member.email, "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.ended_at is not None
    assert first.end_reason == "logout"
    assert UserSession.objects.live().filter(user=org_member).count() == 1

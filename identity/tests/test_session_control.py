"""Session control on /account/: each signed-in session listed, signing one out, and "Sign out everywhere else"."""

import re
from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from identity.models import UserSession

pytestmark = pytest.mark.django_db

ACCOUNT_URL = "/account/"


def _session_rows(response) -> list[list[str]]:
    """Each signed-in session listed: [device line, address, "signed in …", "last seen …"], as text."""
    html = response.content.decode()
    rows = []
    for item in re.findall(r'<li data-session="\d+">\s*<p>(.*?)</p>', html, re.S):
        device, details = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", part)).strip() for part in item.split("<br>"))
        rows.append([device, *details.split(" · ")])
    return rows


def _signed_in(client) -> bool:
    return client.get(ACCOUNT_URL).status_code == 200


def _django_session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


@pytest.fixture
def devices(sign_in, org_member):
    """org_member signed in on three browsers: this laptop (the `client`), a phone and a tablet."""
    clients = {name: sign_in(org_member, Client()) for name in ("laptop", "phone", "tablet")}
    rows = {}
    started = timezone.now() - timedelta(days=1)
    for i, (name, device, ip) in enumerate([("laptop", "Firefox on Linux", "192.0.2.10"),
                                             ("phone", "Safari on iOS", "198.51.100.7"),
                                             ("tablet", "Chrome on Android", "203.0.113.99")]):
        sid = clients[name].session["gatehouse.sid"]
        UserSession.objects.filter(sid=sid).update(device=device, ip=ip, created_at=started + timedelta(hours=i),
                                                   last_seen_at=started + timedelta(hours=i, minutes=30))
        rows[name] = UserSession.objects.get(sid=sid)
    return clients, rows


def test_account_lists_each_session_with_device_address_times_and_this_one(devices):
    clients, rows = devices

    response = clients["laptop"].get(ACCOUNT_URL)

    assert response.status_code == 200
    laptop, tablet, phone = rows["laptop"], rows["tablet"], rows["phone"]
    # Most recently seen first; this laptop's request just refreshed its last-seen time.
    table = _session_rows(response)
    assert [row[:2] for row in table] == [
        ["Firefox on Linux (this session)", "192.0.2.10"],
        ["Chrome on Android", "203.0.113.99"],
        ["Safari on iOS", "198.51.100.7"],
    ]
    assert table[1][2:] == [f"signed in {tablet.created_at.day} {tablet.created_at:%b %Y, %H:%M} UTC",
                            f"last seen {tablet.last_seen_at.day} {tablet.last_seen_at:%b %Y, %H:%M} UTC"]
    assert table[2][2] == f"signed in {phone.created_at.day} {phone.created_at:%b %Y, %H:%M} UTC"
    html = response.content.decode()
    # This session signs out through /logout; each other one through its own form.
    assert f'action="/account/sessions/{phone.pk}/end"' in html
    assert f'action="/account/sessions/{tablet.pk}/end"' in html
    assert f'action="/account/sessions/{laptop.pk}/end"' not in html
    assert "Sign out everywhere else" in html
    assert 'action="/account/sessions/end-others"' in html


def test_with_one_session_there_is_nothing_else_to_sign_out(client, sign_in, org_member):
    sign_in(org_member)

    html = client.get(ACCOUNT_URL).content.decode()

    assert "Sign out everywhere else" not in html


def test_signing_out_another_session_signs_that_browser_out_and_keeps_this_one(devices, org_member,
                                                                               django_capture_on_commit_callbacks):
    clients, rows = devices
    phone_key = clients["phone"].session.session_key

    with django_capture_on_commit_callbacks(execute=True):
        response = clients["laptop"].post(f"/account/sessions/{rows['phone'].pk}/end")

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT_URL
    # The Django session is gone at once, before the phone's next request finds its row ended.
    assert not _django_session_exists(phone_key)
    assert "Safari on iOS has been signed out." in clients["laptop"].get(ACCOUNT_URL).content.decode()
    assert not _signed_in(clients["phone"])
    assert _signed_in(clients["laptop"])
    assert _signed_in(clients["tablet"])
    phone = UserSession.objects.get(pk=rows["phone"].pk)
    assert phone.ended_at is not None
    assert phone.end_reason == UserSession.EndReason.REVOKED
    event = AuditEvent.objects.get(action="session.ended")
    assert (event.actor, event.target_id, event.org) == (org_member, str(org_member.pk), None)
    assert event.metadata == {"reason": "ended_by_user", "sid": phone.sid, "device": "Safari on iOS",
                              "ip": "198.51.100.7", "tokens_revoked": 0}


def test_signing_out_this_session_from_its_own_row_signs_this_browser_out(devices):
    clients, rows = devices

    response = clients["laptop"].post(f"/account/sessions/{rows['laptop'].pk}/end")

    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert not _signed_in(clients["laptop"])
    assert _signed_in(clients["phone"])
    assert UserSession.objects.get(pk=rows["laptop"].pk).ended_at is not None


def test_sign_out_everywhere_else_ends_every_other_session(devices, org_member):
    clients, rows = devices

    response = clients["tablet"].post("/account/sessions/end-others")

    assert response.status_code == 302
    assert response["Location"] == ACCOUNT_URL
    assert "Signed out 2 other sessions." in clients["tablet"].get(ACCOUNT_URL).content.decode()
    assert _signed_in(clients["tablet"])
    assert not _signed_in(clients["laptop"])
    assert not _signed_in(clients["phone"])
    assert set(UserSession.objects.live().filter(user=org_member).values_list("pk", flat=True)) == {
        rows["tablet"].pk}
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.target_id) == (org_member, str(org_member.pk))
    assert event.metadata["reason"] == "ended_by_user"
    assert event.metadata["count"] == 2
    assert set(event.metadata["sids"]) == {rows["laptop"].sid, rows["phone"].sid}
    assert event.metadata["kept_sid"] == rows["tablet"].sid


def test_another_users_session_is_a_404_and_changes_nothing(client, sign_in, org_member, org_admin):
    sign_in(org_member)
    admin_browser = sign_in(org_admin, Client())
    admin_session = UserSession.objects.get(user=org_admin)

    response = client.post(f"/account/sessions/{admin_session.pk}/end")

    assert response.status_code == 404
    assert _signed_in(admin_browser)
    assert UserSession.objects.get(pk=admin_session.pk).ended_at is None
    assert not AuditEvent.objects.filter(action__in=["session.ended", "sessions.ended"]).exists()


@pytest.mark.parametrize("which", ["ended", "unknown", "huge"])
def test_an_ended_or_unknown_session_is_a_404(client, sign_in, org_member, which):
    sign_in(org_member)
    ended = UserSession.objects.create(user=org_member, device="Old", expires_at=timezone.now() + timedelta(hours=1),
                                       ended_at=timezone.now(), end_reason=UserSession.EndReason.LOGOUT)
    pk = {"ended": ended.pk, "unknown": ended.pk + 1000, "huge": 10**30}[which]

    response = client.post(f"/account/sessions/{pk}/end")

    assert response.status_code == 404
    assert _signed_in(client)
    assert not AuditEvent.objects.filter(action="session.ended").exists()


def test_ending_a_session_needs_a_post(devices):
    clients, rows = devices

    assert clients["laptop"].get(f"/account/sessions/{rows['phone'].pk}/end").status_code == 405
    assert clients["laptop"].get("/account/sessions/end-others").status_code == 405
    assert _signed_in(clients["phone"])


def test_ending_a_session_needs_the_csrf_token(sign_in, org_member):
    browser = sign_in(org_member, Client(enforce_csrf_checks=True))
    phone = sign_in(org_member, Client())
    phone_session = UserSession.objects.get(sid=phone.session["gatehouse.sid"])

    assert browser.post(f"/account/sessions/{phone_session.pk}/end").status_code == 403
    assert browser.post("/account/sessions/end-others").status_code == 403
    assert _signed_in(phone)


def test_signed_out_visitors_are_sent_to_sign_in(client, org_member):
    session = UserSession.objects.create(user=org_member, expires_at=timezone.now() + timedelta(hours=1))

    response = client.post(f"/account/sessions/{session.pk}/end")

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")
    assert UserSession.objects.get(pk=session.pk).ended_at is None


def test_the_account_page_links_to_security_settings(client, sign_in, org_member):
    sign_in(org_member)

    html = client.get(ACCOUNT_URL).content.decode()

    assert '<a href="/account/security/">Security: authenticator apps, passkeys, recovery codes</a>' in html


def test_the_account_page_costs_no_more_queries_with_session_control(client, sign_in, org_member,
                                                                     django_assert_num_queries):
    """Measured before this change too: 7 on SQLite (the Django session, the user, the middleware's SELECT
    of the session row, the pending email change, memberships, consents, the session list); with Redis the
    session comes from the cache, 6. Session control adds none per request: the session key is compared in
    memory, and the table and its "everywhere else" button share the one list query."""
    sign_in(org_member)
    client.get(ACCOUNT_URL)  # the first request after sign-in may write last-seen and the session key
    session_reads = 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1

    with django_assert_num_queries(6 + session_reads):
        assert client.get(ACCOUNT_URL).status_code == 200


def test_a_real_sign_in_remembers_its_session_key_and_follows_it_when_it_changes(
        client, sign_in, org_member, password, django_capture_on_commit_callbacks):
    response = client.post("/login", {"email": org_member.email, "password": password})
    assert response.status_code == 302
    row = UserSession.objects.get(user=org_member)
    assert row.session_key == client.session.session_key
    # A password change keeps this browser signed in under a new session key...
    response = client.post("/account/password", {"current_password": password, "new_password1": "another-passphrase-9",
                                                  "new_password2": "another-passphrase-9"})
    assert response.status_code == 302
    new_key = client.session.session_key
    assert new_key != row.session_key
    # ...which the row follows on the browser's next request,
    assert _signed_in(client)
    assert UserSession.objects.get(pk=row.pk).session_key == new_key
    # so signing it out from elsewhere deletes the session the browser really holds.
    org_member.refresh_from_db()  # signed in elsewhere with the new password
    elsewhere = sign_in(org_member, Client())
    with django_capture_on_commit_callbacks(execute=True):
        assert elsewhere.post(f"/account/sessions/{row.pk}/end")["Location"] == ACCOUNT_URL
    assert not _django_session_exists(new_key)
    assert not _signed_in(client)

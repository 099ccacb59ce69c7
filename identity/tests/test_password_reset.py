"""Password reset: the same answer for every address, rate limits, the link, and what a reset revokes."""

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from celery.app.task import Task
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError

from applications.tests.token_factories import issue_tokens, web_app
from audit.models import AuditEvent
from config.celery import app as celery_app
from directory.models import User
from directory.services import user_disable
from directory.tests.factories import DEFAULT_PASSWORD, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.tests.smtp_sink import SmtpSink
from identity.models import OneTimeToken, UserSession
from identity.tests.link_support import LINK, last_link, outbox, tampered
from identity.views import password_reset as reset_views

pytestmark = pytest.mark.django_db

RESET_URL = "/password/reset"
NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture
def request_reset(client, django_capture_on_commit_callbacks):
    """POST the request form and run what it scheduled after commit (the Celery task runs eagerly)."""

    def _request(email: str, c=None, ip: str = "203.0.113.5"):
        with django_capture_on_commit_callbacks(execute=True):
            return (c or client).post(RESET_URL, {"email": email}, REMOTE_ADDR=ip)

    return _request


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback (aiosmtpd), with Django's SMTP backend pointed at it."""
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", sink.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


def _normalized(response, email: str) -> str:
    """The page without what legitimately differs between two requests: the CSRF token and the typed address."""
    html = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


def _set(client, path, first=NEW_PASSWORD, second=NEW_PASSWORD):
    return client.post(path, {"new_password1": first, "new_password2": second})


# --- asking for a link ---------------------------------------------------------------------------


def test_the_request_page_has_a_form(client):
    response = client.get(RESET_URL)

    assert response.status_code == 200
    assert "Reset your password" in response.content.decode()
    assert '<form method="post" action="/password/reset"' in response.content.decode()


def test_the_sign_in_page_links_to_it(client):
    assert 'href="/password/reset"' in client.get("/login").content.decode()


def _sent_tasks(monkeypatch) -> list[tuple[str, tuple, dict]]:
    """Record every Celery message instead of sending it: (task name, args, kwargs) as the broker would get them."""
    sent = []

    def record(task, args=None, kwargs=None, **options):
        sent.append((task.name, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", record)
    return sent


def test_known_and_unknown_addresses_get_the_same_page_and_one_outbox_row_each(
        client, org_member, django_capture_on_commit_callbacks, monkeypatch):
    sent = _sent_tasks(monkeypatch)
    answers = {}
    for email in ("member@acme.test", "nobody@acme.test"):
        before = set(OutboundEmail.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=False) as scheduled:
            response = client.post(RESET_URL, {"email": email}, REMOTE_ADDR="203.0.113.5")
        answers[email] = response
        # The request itself wrote the message, in its own transaction, before answering...
        [row] = OutboundEmail.objects.exclude(pk__in=before)
        assert (row.recipient, row.status) == (email, OutboundEmail.Status.PENDING)
        # ...and after commit the broker gets that row's id and nothing else: no address, no IP.
        assert len(scheduled) == 1
        sent.clear()
        scheduled[0]()
        assert sent == [("emailqueue.tasks.deliver_email", (row.pk,), {})]
        assert email not in repr(sent)
        assert "203.0.113.5" not in repr(sent)

    known, unknown = answers["member@acme.test"], answers["nobody@acme.test"]
    assert known.status_code == unknown.status_code == 200
    # Byte for byte the same page, once the CSRF token and the address the person typed are set aside.
    assert _normalized(known, "member@acme.test") == _normalized(unknown, "nobody@acme.test")
    assert dict(known.headers).keys() == dict(unknown.headers).keys()
    assert "If member@acme.test belongs to an account" in known.content.decode()


def test_the_address_carrying_task_is_gone():
    assert "directory.password_reset_request" not in celery_app.tasks
    assert "emailqueue.tasks.deliver_email" in celery_app.tasks


def test_a_known_address_gets_a_working_link(request_reset, client, org_member, org):
    request_reset("MEMBER@acme.test")

    [email] = outbox()
    assert (email.recipient, email.kind, email.org) == ("member@acme.test", "password_reset", org)
    assert email.subject == "Acme Corp: reset your password"
    assert "expires in 60 minutes" in email.body_text
    path = last_link()
    assert path.startswith("/password/reset/")
    token = OneTimeToken.objects.get(purpose="password_reset")
    assert abs(token.expires_at - (timezone.now() + timedelta(hours=1))) < timedelta(minutes=1)
    event = AuditEvent.objects.get(action="password.reset_requested")
    assert (event.target_id, event.org, event.metadata["sent"], event.metadata["ip"], event.ip) == (
        str(org_member.pk), org, True, "203.0.113.5", "203.0.113.5")
    assert "request_id" not in event.metadata
    assert client.get(path).status_code == 200


def test_an_unknown_address_gets_an_unbranded_notice_without_a_link(request_reset, org_member):
    request_reset("Nobody@Acme.test")

    [email] = outbox()
    assert (email.recipient, email.kind, email.org) == ("Nobody@acme.test", "password_reset_no_account", None)
    assert email.subject == "Gatehouse: password reset request"
    site = settings.GATEHOUSE_ISSUER
    for body in (email.body_text, email.body_html):
        assert f"reset the password for this address on {site}" in body
        assert "no account uses this address" in body
        assert "try the address you signed up with" in body
        assert "If it was not you, ignore this email" in body
        assert "Acme" not in body
        assert not LINK.findall(body)
    assert not OneTimeToken.objects.exists()
    event = AuditEvent.objects.get(action="password.reset_requested")
    assert (event.org, event.target_id, event.ip) == (None, "", "203.0.113.5")
    assert (event.metadata["sent"], event.metadata["reason"], event.metadata["notice"]) == (False, "unknown", True)


def test_a_disabled_account_gets_no_email_and_no_link(request_reset, org_member, operator):
    user_disable(user=org_member, actor=operator)
    before = OutboundEmail.objects.count()

    response = request_reset("member@acme.test")

    assert response.status_code == 200
    assert "If member@acme.test belongs to an account" in response.content.decode()
    assert OutboundEmail.objects.count() == before
    assert not OneTimeToken.objects.exists()
    event = AuditEvent.objects.get(action="password.reset_requested")
    assert (event.metadata["sent"], event.metadata["reason"], event.metadata["notice"]) == (False, "disabled", False)


@pytest.mark.parametrize("email", ["member@acme.test", "nobody@acme.test"])
def test_a_broker_outage_loses_nothing(client, org_member, smtp_sink, django_capture_on_commit_callbacks,
                                       monkeypatch, email):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(Task, "delay", broker_down)
        outage.setattr(Task, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(RESET_URL, {"email": email}, REMOTE_ADDR="203.0.113.5")

        assert response.status_code == 200
        assert "Check your email" in response.content.decode()
        [row] = outbox()
        assert (row.recipient, row.status, row.attempts, row.dispatched_at) == (
            email, OutboundEmail.Status.PENDING, 0, None)
        assert not smtp_sink.received

    # The broker is back: the sweeper's next run hands the row over and the worker sends it.
    out = StringIO()
    call_command("deliver_email", "--sweep", stdout=out)

    assert "dispatched: 1" in out.getvalue()
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    [received] = smtp_sink.received
    assert (received.rcpt_tos, received.message_id) == ([email], row.message_id)
    text = received.message.get_body(("plain",)).get_content()
    if email == "member@acme.test":
        assert received.message["Subject"] == "Acme Corp: reset your password"
        path = urlsplit(LINK.search(text).group(0)).path
        assert _set(client, path).status_code == 302
        assert User.objects.get(pk=org_member.pk).check_password(NEW_PASSWORD)
    else:
        assert received.message["Subject"] == "Gatehouse: password reset request"
        assert "no account uses this address" in text


def test_the_link_is_redacted_in_the_console_queue(request_reset, org, org_member, org_admin_client, client):
    request_reset("member@acme.test")
    [email] = outbox(kind="password_reset")
    path = last_link(kind="password_reset")

    response = org_admin_client.get(f"/console/acme/emails/{email.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "reset your password" in html
    assert "[one-time link redacted]" in html
    assert path.rsplit("/", 1)[1] not in html
    # Redaction is only what the console shows: the link in the mail still works.
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-email", "x" * 300 + "@example.test"])
def test_a_bad_address_re_renders_with_a_field_error(client, email):
    response = client.post(RESET_URL, {"email": email})

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert 'id="id_email_error"' in response.content.decode()


def test_too_many_requests_from_one_ip_are_refused(request_reset, org_member, monkeypatch):
    monkeypatch.setattr(reset_views, "RESET_LIMIT_PER_IP", (3, 3600))

    answers = [request_reset(f"person{n}@example.test").status_code for n in range(3)]
    refused = request_reset("member@acme.test")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many attempts" in refused.content.decode()
    assert not OutboundEmail.objects.filter(recipient="member@acme.test").exists()
    # Another IP is not affected.
    assert request_reset("member@acme.test", ip="198.51.100.7").status_code == 200


def test_too_many_requests_for_one_address_are_refused_from_any_ip(request_reset, org_member, monkeypatch):
    monkeypatch.setattr(reset_views, "RESET_LIMIT_PER_EMAIL", (2, 3600))

    answers = [request_reset("member@acme.test", ip=f"203.0.113.{n}").status_code for n in range(1, 3)]
    refused = request_reset("Member@ACME.test", ip="203.0.113.99")
    unknown_refused = [request_reset("nobody@acme.test", ip=f"198.51.100.{n}").status_code for n in range(1, 4)]

    assert answers == [200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"]
    # Unknown addresses are limited the same way: a 429 says nothing about the account.
    assert unknown_refused == [200, 200, 429]
    assert OutboundEmail.objects.filter(recipient="member@acme.test").count() == 2
    assert OutboundEmail.objects.filter(recipient="nobody@acme.test").count() == 2


def test_a_new_request_voids_the_previous_link(request_reset, client, org_member):
    request_reset("member@acme.test")
    first = last_link()
    request_reset("member@acme.test")
    second = last_link()

    response = _set(client, first)

    assert response.status_code == 410
    assert "This link was replaced by a newer one." in response.content.decode()
    assert _set(client, second).status_code == 302


# --- using the link ------------------------------------------------------------------------------


@pytest.fixture
def reset_link(request_reset, org_member):
    request_reset("member@acme.test")
    return last_link()


def test_opening_the_link_shows_the_form_and_leaves_it_usable(client, reset_link):
    for _ in range(3):
        response = client.get(reset_link)
        assert response.status_code == 200
    assert "Choose a new password" in response.content.decode()
    assert 'value="member@acme.test"' in response.content.decode()
    assert OneTimeToken.objects.live().count() == 1
    assert _set(client, reset_link).status_code == 302


def test_confirming_sets_the_password_and_revokes_sessions_and_tokens(client, reset_link, org_member, org, sign_in):
    other_browser = sign_in(org_member, Client())
    assert other_browser.get("/account/").status_code == 200
    app = web_app(org, "HR portal")
    tokens = issue_tokens(application=app, user=org_member)

    response = _set(client, reset_link)

    assert response.status_code == 302
    assert response["Location"] == "/login"
    org_member.refresh_from_db()
    assert org_member.check_password(NEW_PASSWORD)
    assert not org_member.check_password(DEFAULT_PASSWORD)
    assert not UserSession.objects.live().filter(user=org_member).exists()
    assert UserSession.objects.filter(user=org_member, end_reason="revoked").count() == 1
    assert other_browser.get("/account/").status_code == 302
    assert not tokens.is_live()
    assert tokens.is_revoked()
    notice = outbox(kind="password_changed")[-1]
    assert (notice.recipient, notice.subject) == ("member@acme.test", "Acme Corp: your password was changed")
    assert "was reset with a link" in notice.body_text
    event = AuditEvent.objects.get(action="password.reset")
    assert (event.actor, event.target_id, event.org) == (org_member, str(org_member.pk), org)
    assert event.metadata["sessions_ended"] == 1
    assert event.metadata["tokens_revoked"] >= 2
    assert "Your password has been changed." in client.get("/login").content.decode()
    assert client.post("/login", {"email": "member@acme.test", "password": NEW_PASSWORD}).status_code == 302


def test_a_used_link_cannot_be_used_again(client, reset_link, org_member):
    _set(client, reset_link)

    response = _set(Client(), reset_link, "yet-another-passphrase", "yet-another-passphrase")

    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has already been used." in html
    assert 'href="/password/reset"' in html
    assert User.objects.get(pk=org_member.pk).check_password(NEW_PASSWORD)


def test_an_expired_link_offers_a_new_one(client, reset_link, org_member):
    OneTimeToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    for response in (client.get(reset_link), _set(client, reset_link)):
        assert response.status_code == 410
        assert "This link has expired." in response.content.decode()
        assert "Request a new link" in response.content.decode()
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)


def test_a_tampered_link_is_not_valid(client, reset_link, org_member):
    for bad in (tampered(reset_link), reset_link + "x", "/password/reset/nope"):
        assert client.get(bad).status_code == 404
        assert _set(client, bad).status_code == 404
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)
    assert OneTimeToken.objects.live().count() == 1


def test_a_link_for_a_disabled_account_is_refused(client, reset_link, org_member, operator):
    user_disable(user=org_member, actor=operator)

    response = _set(client, reset_link)

    assert response.status_code == 403
    assert "disabled" in response.content.decode()
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(("first", "second", "field", "message"), [
    (NEW_PASSWORD, "something-else-entirely", "new_password2", "The two passwords do not match."),
    ("short", "short", "new_password1", "This password is too short."),
    ("1234567890123", "1234567890123", "new_password1", "This password is entirely numeric."),
    ("", "", "new_password1", "This field is required."),
    (NEW_PASSWORD, "", "new_password2", "This field is required."),
])
def test_bad_passwords_re_render_with_field_errors(client, reset_link, org_member, first, second, field, message):
    response = _set(client, reset_link, first, second)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)
    assert OneTimeToken.objects.live().count() == 1


def test_reset_from_a_browser_signed_in_as_the_same_user_keeps_that_browser(client, reset_link, org_member,
                                                                             sign_in):
    sign_in(org_member)

    response = _set(client, reset_link)

    assert response.status_code == 302
    assert client.get("/account/").status_code == 200


def test_an_invited_account_without_password_can_reset(request_reset, client, org, org_admin):
    from orgs.services import member_invite

    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    request_reset("dana@example.test")
    path = last_link(kind="password_reset")

    assert _set(client, path).status_code == 302
    assert UserFactory._meta.model.objects.get(email="dana@example.test").check_password(NEW_PASSWORD)


# --- sent by an org admin -------------------------------------------------------------------------


def test_an_org_admin_can_send_a_reset_to_someone_only_in_their_org(client, org, org_admin, org_member):
    from directory.services import user_password_reset_send

    user_password_reset_send(org=org, user=org_member, actor=org_admin)

    [email] = outbox()
    assert (email.recipient, email.org) == ("member@acme.test", org)
    event = AuditEvent.objects.get(action="password.reset_requested")
    assert (event.actor, event.org, event.metadata["by_admin"]) == (org_admin, org, True)
    assert _set(client, last_link()).status_code == 302
    assert User.objects.get(pk=org_member.pk).check_password(NEW_PASSWORD)


def test_an_org_admin_cannot_send_a_reset_to_someone_who_also_belongs_elsewhere(org, other_org, org_admin,
                                                                                org_member):
    from config.exceptions import NotAllowed
    from directory.services import user_password_reset_send
    from directory.tests.factories import MembershipFactory

    MembershipFactory(org=other_org, user=org_member)

    with pytest.raises(NotAllowed, match="also belongs to another organization"):
        user_password_reset_send(org=org, user=org_member, actor=org_admin)
    assert not outbox()
    assert not OneTimeToken.objects.exists()


def test_a_reset_lifts_a_sign_in_lock(client, reset_link, org_member):
    from security.selectors import account_locked_until

    guesser = Client()
    for _ in range(10):
        guesser.post("/login", {"email": org_member.email, "password": "a-wrong-guess"})
    assert account_locked_until(user=org_member) is not None
    _set(client, reset_link)
    assert account_locked_until(user=org_member) is None
    signed_in = Client().post("/login", {"email": org_member.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert AuditEvent.objects.filter(action="account.unlocked", target_id=str(org_member.pk)).exists()

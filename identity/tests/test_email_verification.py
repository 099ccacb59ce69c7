"""Email verification for accounts no invitation link proved: the mail, the link (used on POST), the account
page's banner and resend, and `email_verified` in ID tokens and userinfo before and after."""

import io
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from directory.models import User
from directory.services import user_create
from directory.tests.factories import MembershipFactory
from emailqueue.models import OutboundEmail
from emailqueue.redaction import REDACTED, redact_one_time_links
from emailqueue.tests.smtp_sink import SmtpSink
from identity.models import OneTimeToken
from identity.tests.link_support import LINK, last_link, outbox, tampered
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, sign_in_code
from orgs.services import member_invite

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"


@pytest.fixture
def dana(org, django_capture_on_commit_callbacks):
    """An account an operator created with a password (`create_user --password`), a member of Acme."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("create_user", "dana@example.test", "--org", "acme", "--password", PASSWORD,
                     stdout=io.StringIO())
    return User.objects.get(email="dana@example.test")


def _page(response) -> str:
    return response.content.decode()


# --- who gets the mail ---------------------------------------------------------------------------


def test_an_account_created_with_a_password_gets_a_verification_link(dana):
    assert dana.email_verified is False
    [email] = outbox(kind="email_verification")
    assert email.recipient == "dana@example.test"
    assert email.subject == "Gatehouse: verify your email address"
    assert "expires in 72 hours" in email.body_text
    assert last_link(kind="email_verification").startswith("/account/email/verify/")
    token = OneTimeToken.objects.get(purpose="email_verification")
    assert (token.user, token.email) == (dana, "dana@example.test")
    event = AuditEvent.objects.get(action="email.verification_sent")
    assert (event.target_id, event.metadata) == (str(dana.pk), {"email": "dana@example.test"})


def test_create_user_says_a_verification_link_was_sent(org):
    out = io.StringIO()
    call_command("create_user", "eve@example.test", "--password", PASSWORD, stdout=out)

    assert "A link to verify the address was emailed to eve@example.test" in out.getvalue()
    assert len(outbox(kind="email_verification", recipient="eve@example.test")) == 1


def test_the_email_queue_never_shows_the_link(dana):
    [email] = outbox(kind="email_verification")

    assert not LINK.search(redact_one_time_links(email.body_text))
    assert REDACTED in redact_one_time_links(email.body_text)
    assert not LINK.search(redact_one_time_links(email.body_html))


def test_invited_accounts_and_accounts_known_to_be_verified_get_none(org, org_admin):
    member_invite(org=org, email="ivy@example.test", role="member", actor=org_admin)
    user_create(email="nopass@example.test", password=None)
    user_create(email="seeded@example.test", password=PASSWORD, email_verified=True)

    assert not OutboundEmail.objects.filter(kind="email_verification").exists()
    assert not OneTimeToken.objects.filter(purpose="email_verification").exists()


def test_the_mail_arrives_over_smtp_and_its_link_verifies(org, settings, django_capture_on_commit_callbacks):
    sink = SmtpSink().start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", sink.port, 5
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        with django_capture_on_commit_callbacks(execute=True):
            user_create(email="sam@example.test", password=PASSWORD)
        [received] = sink.received
    finally:
        sink.stop()

    assert received.rcpt_tos == ["sam@example.test"]
    assert received.message["Subject"] == "Gatehouse: verify your email address"
    [link] = LINK.findall(received.message.get_body(("plain",)).get_content())
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = Client().post(f"/{path}")
    assert response.status_code == 200
    assert User.objects.get(email="sam@example.test").email_verified is True


# --- the link -------------------------------------------------------------------------------------


def test_opening_the_link_only_asks(dana):
    path = last_link(kind="email_verification")

    response = Client().get(path)

    assert response.status_code == 200
    assert "Verify dana@example.test" in _page(response)
    assert '<form method="post"' in _page(response)
    assert User.objects.get(pk=dana.pk).email_verified is False
    assert OneTimeToken.objects.get(purpose="email_verification").used_at is None


def test_posting_the_link_verifies_without_signing_in(dana):
    path = last_link(kind="email_verification")

    response = Client().post(path)

    assert response.status_code == 200
    assert "Email address verified" in _page(response)
    assert User.objects.get(pk=dana.pk).email_verified is True
    assert OneTimeToken.objects.get(purpose="email_verification").used_at is not None
    event = AuditEvent.objects.get(action="email.verified")
    assert (event.actor, event.target_id, event.metadata) == (dana, str(dana.pk), {"email": "dana@example.test"})


def test_posting_it_signed_in_leads_back_to_the_account(client, sign_in, dana):
    path = last_link(kind="email_verification")
    sign_in(dana)

    response = client.post(path, follow=True)

    assert response.redirect_chain == [("/account/", 302)]
    assert "Your email address dana@example.test is verified." in _page(response)
    assert "is not verified yet" not in _page(response)


def test_a_used_link_is_gone(dana):
    path = last_link(kind="email_verification")
    Client().post(path)

    for response in (Client().get(path), Client().post(path)):
        assert response.status_code == 410
        assert "This link has already been used." in _page(response)
    assert AuditEvent.objects.filter(action="email.verified").count() == 1


@pytest.mark.parametrize("mangle", ["tampered", "short", "huge", "reset_link"])
def test_a_bad_link_is_a_404_and_changes_nothing(dana, org, django_capture_on_commit_callbacks, mangle):
    path = last_link(kind="email_verification")
    if mangle == "reset_link":
        with django_capture_on_commit_callbacks(execute=True):
            Client().post("/password/reset", {"email": dana.email})
        path = "/account/email/verify/" + last_link(kind="password_reset").rsplit("/", 1)[1]
    else:
        path = {"tampered": tampered(path), "short": "/account/email/verify/abc",
                "huge": "/account/email/verify/" + "A" * 5000}[mangle]

    for response in (Client().get(path), Client().post(path)):
        assert response.status_code == 404
    assert User.objects.get(pk=dana.pk).email_verified is False
    assert not AuditEvent.objects.filter(action="email.verified").exists()


def test_an_expired_link_says_so(dana):
    path = last_link(kind="email_verification")
    OneTimeToken.objects.filter(purpose="email_verification").update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().post(path)

    assert response.status_code == 410
    assert "This link has expired." in _page(response)
    assert User.objects.get(pk=dana.pk).email_verified is False


def test_a_link_for_an_address_the_account_no_longer_uses_verifies_nothing(dana):
    path = last_link(kind="email_verification")
    User.objects.filter(pk=dana.pk).update(email="dana.new@example.test")

    response = Client().post(path)

    assert response.status_code == 410
    assert "no longer uses" in _page(response)
    assert User.objects.get(pk=dana.pk).email_verified is False


# --- the account page -----------------------------------------------------------------------------


def test_the_account_page_asks_an_unverified_account_to_verify(client, sign_in, dana):
    sign_in(dana)

    page = _page(client.get("/account/"))

    assert "Your email address dana@example.test is not verified yet." in page
    assert 'action="/account/email/verify"' in page


def test_a_verified_account_sees_no_banner(client, sign_in, org_member):
    sign_in(org_member)

    assert "is not verified yet" not in _page(client.get("/account/"))


def test_asking_again_sends_a_new_link_and_the_old_one_is_replaced(client, sign_in, dana,
                                                                   django_capture_on_commit_callbacks):
    old = last_link(kind="email_verification")
    sign_in(dana)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/email/verify", follow=True)

    assert "We sent a verification link to dana@example.test." in _page(response)
    new = last_link(kind="email_verification")
    assert new != old
    assert len(outbox(kind="email_verification")) == 2
    assert Client().post(old).status_code == 410
    assert Client().post(new).status_code == 200
    assert AuditEvent.objects.filter(action="email.verification_sent", actor=dana).count() == 1


def test_asking_is_throttled(client, sign_in, dana):
    sign_in(dana)
    for _ in range(3):
        assert client.post("/account/email/verify").status_code == 302

    response = client.post("/account/email/verify")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(outbox(kind="email_verification")) == 4  # the first from creation, three asked for


def test_asking_needs_a_post_and_a_sign_in(client, sign_in, dana):
    assert client.post("/account/email/verify")["Location"].startswith("/login?next=")
    sign_in(dana)
    assert client.get("/account/email/verify").status_code == 405
    assert len(outbox(kind="email_verification")) == 1


def test_a_verified_account_asking_gets_no_mail(client, sign_in, org_member):
    sign_in(org_member)

    response = client.post("/account/email/verify", follow=True)

    assert "Your email address is already verified." in _page(response)
    assert not outbox(kind="email_verification")


# --- what applications see ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_id_token_and_userinfo_say_false_before_and_true_after(live_server, org, sign_in):
    with issuer_settings(live_server):
        user = user_create(email="vera@example.test", password=PASSWORD)
        MembershipFactory(org=org, user=user, role="member")
        client = make_web_app(org)
        browser = sign_in(user, Client())

        rp = RelyingParty(live_server, client)
        before = rp.fetch_token(sign_in_code(rp, browser))
        assert rp.verify_id_token(before["id_token"])["email_verified"] is False
        userinfo = requests.get(rp.metadata["userinfo_endpoint"], timeout=10,
                                headers={"Authorization": f"Bearer {before['access_token']}"}).json()
        assert (userinfo["email"], userinfo["email_verified"]) == ("vera@example.test", False)

        assert Client().post(last_link(kind="email_verification")).status_code == 200

        rp = RelyingParty(live_server, client)
        after = rp.fetch_token(sign_in_code(rp, browser))
        assert rp.verify_id_token(after["id_token"])["email_verified"] is True
        userinfo = requests.get(rp.metadata["userinfo_endpoint"], timeout=10,
                                headers={"Authorization": f"Bearer {after['access_token']}"}).json()
        assert userinfo["email_verified"] is True


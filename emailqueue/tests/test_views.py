"""The email queue pages: who sees them, counts and filters, redacted messages, requeue and cancel."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from emailqueue.models import OutboundEmail
from emailqueue.tests.factories import OutboundEmailFactory
from identity.services import session_sign_in_for_tests

pytestmark = pytest.mark.django_db
Status = OutboundEmail.Status
SECRET_LINK = "https://idp.example.test/invitation/SECRET-TOKEN-123"


def list_url(org, **query):
    url = reverse("console:email-list", kwargs={"org_slug": org.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def detail_url(org, email, page="detail"):
    return reverse(f"console:email-{page}", kwargs={"org_slug": org.slug, "pk": email.pk})


@pytest.fixture
def invitation(org):
    return OutboundEmailFactory(
        org=org, kind="invitation", recipient="new.hire@acme.test", subject="Join Acme Corp",
        body_text=f"Hello,\n\nJoin Acme Corp: {SECRET_LINK}\nSign in later at https://idp.example.test/login\n",
        body_html=f'<p>Join <a href="{SECRET_LINK}">Acme Corp</a><script>alert(1)</script></p>',
        status=Status.DEAD, attempts=8, last_error=f"SMTPDataError: 554 rejected {SECRET_LINK}",
    )


@pytest.fixture
def foreign_email(other_org):
    return OutboundEmailFactory(org=other_org, recipient="someone@globex.test", subject="Globex secret",
                                status=Status.FAILED)


@pytest.mark.parametrize("role", ["org_owner", "org_admin", "org_auditor"])
def test_console_roles_see_the_queue(request, org, sign_in, invitation, role):
    client = sign_in(request.getfixturevalue(role))
    response = client.get(list_url(org))
    assert response.status_code == 200
    assert b"new.hire@acme.test" in response.content
    response = client.get(detail_url(org, invitation))
    assert response.status_code == 200
    assert b"Join Acme Corp" in response.content


def test_a_plain_member_does_not(org, sign_in, org_member, invitation):
    client = sign_in(org_member)
    assert client.get(list_url(org)).status_code == 403
    assert client.get(detail_url(org, invitation)).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, org, invitation):
    response = client.get(list_url(org))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_another_orgs_message_is_a_404(org, org_admin_client, foreign_email):
    for page in ("detail", "requeue", "cancel"):
        method = org_admin_client.get if page == "detail" else org_admin_client.post
        assert method(detail_url(org, foreign_email, page)).status_code == 404, page
    foreign_email.refresh_from_db()
    assert foreign_email.status == Status.FAILED
    assert b"someone@globex.test" not in org_admin_client.get(list_url(org)).content


def test_another_orgs_admin_cannot_see_this_org_at_all(org, other_org_admin_client, invitation):
    assert other_org_admin_client.get(list_url(org)).status_code == 404
    assert other_org_admin_client.get(detail_url(org, invitation)).status_code == 404


def test_platform_mail_is_not_in_any_org_queue(org, org_admin_client):
    platform_mail = OutboundEmailFactory(org=None, recipient="ops@example.test")
    assert b"ops@example.test" not in org_admin_client.get(list_url(org)).content
    assert org_admin_client.get(detail_url(org, platform_mail)).status_code == 404


def test_one_time_links_are_redacted_and_html_is_shown_as_text(org, org_auditor, sign_in, invitation):
    response = sign_in(org_auditor).get(detail_url(org, invitation))
    content = response.content.decode()
    assert "SECRET-TOKEN-123" not in content
    assert "/invitation/" not in content
    assert content.count("[one-time link redacted]") >= 3  # text, HTML source, last error
    assert "https://idp.example.test/login" in content  # other links are kept
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content  # the HTML source, escaped
    assert "8" in content
    assert "SMTPDataError: 554 rejected" in content
    assert invitation.message_id.replace("<", "&lt;").replace(">", "&gt;") in content


def test_counts_by_state_and_filters(org, org_admin_client):
    for status, n in [(Status.SENT, 3), (Status.FAILED, 2), (Status.DEAD, 1)]:
        for i in range(n):
            OutboundEmailFactory(org=org, status=status, recipient=f"{status}{i}@acme.test")
    OutboundEmailFactory(org=org, status=Status.PENDING, recipient="Alice.Smith@acme.test")
    response = org_admin_client.get(list_url(org))
    counts = {value: n for value, _, n in response.context["counts"]}
    assert counts == {"pending": 1, "sending": 0, "sent": 3, "failed": 2, "dead": 1, "cancelled": 0}

    rows = org_admin_client.get(list_url(org, status="failed")).context["rows"]
    assert sorted(email.recipient for email, _ in rows) == ["failed0@acme.test", "failed1@acme.test"]
    rows = org_admin_client.get(list_url(org, recipient="alice.")).context["rows"]
    assert [email.recipient for email, _ in rows] == ["Alice.Smith@acme.test"]  # prefix, any case
    rows = org_admin_client.get(list_url(org, recipient="smith")).context["rows"]
    assert rows == []


def test_bad_filters_are_reported_and_not_applied(org, org_admin_client):
    OutboundEmailFactory(org=org, recipient="a@acme.test")
    response = org_admin_client.get(list_url(org, status="nonsense", before="x"))
    assert response.status_code == 200
    assert response.context["form"].errors["status"]
    assert len(response.context["rows"]) == 1


def test_pages_of_fifty_with_bounded_queries(org, org_admin_client, django_assert_max_num_queries):
    emails = [OutboundEmailFactory(org=org, status=Status.SENT) for _ in range(55)]
    with django_assert_max_num_queries(12):
        response = org_admin_client.get(list_url(org, status="sent"))
    first = [email.pk for email, _ in response.context["rows"]]
    assert first == [e.pk for e in reversed(emails)][:50]
    assert response.context["next_page_query"] == f"status=sent&before={first[-1]}"
    response = org_admin_client.get(list_url(org) + "?" + response.context["next_page_query"])
    second = [email.pk for email, _ in response.context["rows"]]
    assert second == [e.pk for e in reversed(emails)][50:]
    assert response.context["next_page_query"] == ""


def test_admin_requeues_a_dead_message(org, org_admin_client, org_admin, invitation):
    response = org_admin_client.post(detail_url(org, invitation, "requeue"))
    assert response.status_code == 302
    assert response["Location"] == detail_url(org, invitation)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (Status.PENDING, 0)
    event = AuditEvent.objects.get(action="email.requeued")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(invitation.pk))
    assert event.ip == "127.0.0.1"


def test_admin_cancels_a_pending_message(org, org_admin_client, org_admin):
    email = OutboundEmailFactory(org=org, status=Status.PENDING)
    page = org_admin_client.get(detail_url(org, email)).content.decode()
    assert "Cancel this message" in page
    assert "Requeue this message" not in page
    response = org_admin_client.post(detail_url(org, email, "cancel"), {"reason": "sent to the wrong person"})
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == Status.CANCELLED
    event = AuditEvent.objects.get(action="email.cancelled")
    assert event.metadata["reason"] == "sent to the wrong person"


def test_an_action_the_state_does_not_allow_is_explained(org, org_admin_client):
    email = OutboundEmailFactory(org=org, status=Status.SENT)
    response = org_admin_client.post(detail_url(org, email, "cancel"), follow=True)
    assert response.status_code == 200
    assert "only pending or failed messages can be cancelled" in response.content.decode()
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert not AuditEvent.objects.filter(action__startswith="email.").exists()


def test_an_auditor_cannot_requeue_or_cancel(org, org_auditor, sign_in, invitation):
    client = sign_in(org_auditor)
    assert "Requeue this message" not in client.get(detail_url(org, invitation)).content.decode()
    assert client.post(detail_url(org, invitation, "requeue")).status_code == 403
    assert client.post(detail_url(org, invitation, "cancel")).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == Status.DEAD
    assert not AuditEvent.objects.filter(action__startswith="email.").exists()


def test_actions_need_post_and_csrf(org, org_admin, invitation):
    client = Client(enforce_csrf_checks=True)
    session_sign_in_for_tests(client=client, user=org_admin)
    assert client.get(detail_url(org, invitation, "requeue")).status_code == 405
    assert client.post(detail_url(org, invitation, "requeue")).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == Status.DEAD


def test_sidebar_links_to_the_queue_for_those_who_may_see_it(org, sign_in, org_auditor):
    page = sign_in(org_auditor).get(reverse("console:org-overview", kwargs={"org_slug": org.slug})).content.decode()
    assert list_url(org) in page
    assert reverse("console:platform-email-list") not in page


# ------------------------------------------------------------------------------------------ platform


def test_operator_sees_every_org_and_platform_mail(operator_client, org, invitation, foreign_email):
    platform_mail = OutboundEmailFactory(org=None, recipient="ops@example.test", status=Status.FAILED)
    response = operator_client.get(reverse("console:platform-email-list"))
    assert response.status_code == 200
    recipients = {email.recipient for email, _ in response.context["rows"]}
    assert recipients == {"new.hire@acme.test", "someone@globex.test", "ops@example.test"}
    counts = {value: n for value, _, n in response.context["counts"]}
    assert counts["failed"] == 2
    assert counts["dead"] == 1

    only_platform = operator_client.get(reverse("console:platform-email-list") + "?org=-").context["rows"]
    assert [email.pk for email, _ in only_platform] == [platform_mail.pk]
    only_globex = operator_client.get(reverse("console:platform-email-list") + "?org=globex").context["rows"]
    assert [email.pk for email, _ in only_globex] == [foreign_email.pk]

    page = operator_client.get(reverse("console:platform-email-detail", kwargs={"pk": invitation.pk}))
    assert "SECRET-TOKEN-123" not in page.content.decode()
    assert reverse("console:platform-email-list") in page.content.decode()  # the sidebar link


def test_operator_requeues_platform_mail(operator_client, operator):
    email = OutboundEmailFactory(org=None, status=Status.DEAD, attempts=8)
    response = operator_client.post(reverse("console:platform-email-requeue", kwargs={"pk": email.pk}))
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status in (Status.PENDING, Status.SENT)
    event = AuditEvent.objects.get(action="email.requeued")
    assert (event.org, event.actor) == (None, operator)


def test_the_platform_queue_is_for_operators_only(org_admin_client, invitation):
    assert org_admin_client.get(reverse("console:platform-email-list")).status_code == 404
    detail = reverse("console:platform-email-detail", kwargs={"pk": invitation.pk})
    assert org_admin_client.get(detail).status_code == 404
    assert org_admin_client.post(
        reverse("console:platform-email-requeue", kwargs={"pk": invitation.pk})).status_code == 404

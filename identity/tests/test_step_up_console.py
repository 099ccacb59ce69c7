"""Step-up on each sensitive console action: with a sign-in older than GATEHOUSE_STEP_UP_SECONDS the POST
changes nothing and sends the admin to /account/confirm; after confirming they come back to the action's
page and the same POST works. A fresh sign-in needs no step-up; another org's admin still gets 404."""

from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

import pytest
from django.urls import reverse

from applications.api_services import api_create
from applications.apikey_services import api_key_create
from applications.models import Api, ApiKey, Application, AppRole
from applications.role_services import app_role_create
from applications.services import application_create
from audit.models import AuditEvent
from directory.models import Group
from directory.tests.factories import DEFAULT_PASSWORD, GroupFactory, MembershipFactory, UserFactory
from identity.mfa.models import TotpDevice
from identity.mfa.tests.support import enrol_totp
from identity.models import UserSession
from identity.step_up import ACTIONS, PENDING_SESSION_KEY
from identity.tests.step_up_support import sign_in_age, step_up_mark
from orgs.models import Membership, Organization
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhooks_may_target_loopback(settings):
    """Endpoints here point at 127.0.0.1 (never called): production refuses private targets."""
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = True


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


@dataclass
class Case:
    url: str
    data: dict
    done: Callable[[], bool]  # whether the action took effect
    back_to: str  # where the admin returns after confirming: the action's own page, or the page of its button
    referer: str = ""


def _web_app(org):
    return application_create(org=org, name="HR portal", kind="web",
                              redirect_uris=["https://hr.example/cb"]).application


def _secret(model, pk):
    return model.objects.get(pk=pk).client_secret


def rotate_client_secret(org, actor):
    app = _web_app(org)
    before = _secret(Application, app.pk)
    page = url("app-secret-rotate", org, app.pk)
    return Case(page, {"overlap": "none"}, lambda: _secret(Application, app.pk) != before, page)


def delete_application(org, actor):
    app = _web_app(org)
    page = url("app-delete", org, app.pk)
    return Case(page, {}, lambda: not Application.objects.filter(pk=app.pk).exists(), page)


def delete_app_role(org, actor):
    app = _web_app(org)
    role = app_role_create(application=app, key="app:admin", name="Admins", actor=None)
    detail = url("app-detail", org, app.pk)
    # It asks first (orgs/confirmation.py): the step-up comes with the confirmed POST, and leads back to the
    # role's confirmation page, not to the page of the button.
    page = url("app-role-delete", org, app.pk, role.pk)
    return Case(page, {"confirmed": "1"}, lambda: not AppRole.objects.filter(pk=role.pk).exists(), page,
                referer=detail)


def _api(org):
    return api_create(org=org, name="Orders API", identifier="https://orders.acme.test",
                      scopes=[("orders:read", "Read your orders")]).api


def delete_api(org, actor):
    api = _api(org)
    page = url("api-delete", org, api.pk)
    return Case(page, {}, lambda: not Api.objects.filter(pk=api.pk).exists(), page)


def rotate_api_secret(org, actor):
    api = _api(org)
    before = _secret(Api, api.pk)
    page = url("api-secret-rotate", org, api.pk)
    return Case(page, {}, lambda: _secret(Api, api.pk) != before, page)


def create_api_key(org, actor):
    page = url("apikey-create", org)
    return Case(page, {"name": "Payroll export", "scopes": ["members.view"], "expires_on": "", "allowed_ips": "",
                       "application": ""}, lambda: ApiKey.objects.filter(org=org).exists(), page)


def revoke_api_key(org, actor):
    key, _raw = api_key_create(org=org, actor=actor, request=None, name="HR sync", scopes=["members.view"])
    page = url("apikey-revoke", org, key.pk)
    return Case(page, {}, lambda: ApiKey.objects.get(pk=key.pk).revoked_at is not None, page)


def delete_api_key(org, actor):
    key, _raw = api_key_create(org=org, actor=actor, request=None, name="HR sync", scopes=["members.view"])
    page = url("apikey-delete", org, key.pk)
    return Case(page, {}, lambda: not ApiKey.objects.filter(pk=key.pk).exists(), page)


def delete_group(org, actor):
    group = GroupFactory(org=org, name="Engineering", slug="engineering")
    page = url("group-delete", org, group.pk)
    return Case(page, {}, lambda: not Group.objects.filter(pk=group.pk).exists(), page)


def _endpoint(org, actor):
    endpoint, _secret_shown = webhook_endpoint_create(org=org, url="http://127.0.0.1:9/hook", events=["user.created"],
                                                      actor=actor)
    return endpoint


def rotate_webhook_secret(org, actor):
    endpoint = _endpoint(org, actor)
    before = WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted
    page = url("webhook-secret", org, endpoint.pk)
    return Case(page, {}, lambda: WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted != before, page)


def delete_webhook(org, actor):
    endpoint = _endpoint(org, actor)
    page = url("webhook-delete", org, endpoint.pk)
    return Case(page, {}, lambda: not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists(), page)


def change_audit_retention(org, actor):
    page = url("audit-retention", org)
    # A shorter retention asks first (audit/tests/test_confirmations.py): this is the confirmed answer.
    return Case(page, {"days": "30", "confirmed": "1"},
                lambda: Organization.objects.get(pk=org.pk).audit_retention_days == 30, page)


def _member(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test"))


def change_role(org, actor):
    membership = _member(org)
    detail = url("user-detail", org, membership.user_id)
    return Case(url("user-role", org, membership.user_id), {"role": "auditor"},
                lambda: Membership.objects.get(pk=membership.pk).role == "auditor", detail, referer=detail)


def remove_member(org, actor):
    membership = _member(org)
    page = url("user-remove", org, membership.user_id)
    return Case(page, {}, lambda: not Membership.objects.filter(pk=membership.pk).exists(), page)


def reset_mfa(org, actor):
    membership = _member(org)
    enrol_totp(membership.user)
    page = url("user-mfa-reset", org, membership.user_id)
    return Case(page, {}, lambda: not TotpDevice.objects.filter(user_id=membership.user_id).exists(), page)


def change_settings(org, actor):
    page = url("org-settings", org)
    data = {"name": "Acme Corporation", "mfa_policy": "off", "min_length": "12", "history_count": "0"}
    return Case(page, data, lambda: Organization.objects.get(pk=org.pk).name == "Acme Corporation", page)


def change_branding(org, actor):
    page = url("org-settings", org)
    return Case(url("org-branding", org), {"display_name": "Acme Sign-in"},
                lambda: Organization.objects.get(pk=org.pk).display_name == "Acme Sign-in", page, referer=page)


ORG_CASES = {
    "application.secret_rotate": rotate_client_secret,
    "application.delete": delete_application,
    "app_role.delete": delete_app_role,
    "api.delete": delete_api,
    "api.secret_rotate": rotate_api_secret,
    "api_key.create": create_api_key,
    "api_key.revoke": revoke_api_key,
    "api_key.delete": delete_api_key,
    "group.delete": delete_group,
    "webhook.secret_rotate": rotate_webhook_secret,
    "webhook.delete": delete_webhook,
    "audit.retention_change": change_audit_retention,
    "membership.role_change": change_role,
    "membership.remove": remove_member,
    "mfa.reset": reset_mfa,
    "organization.settings_change": change_settings,
}


def test_every_sensitive_action_is_tested_here():
    assert set(ACTIONS) == set(ORG_CASES) | {"organization.status_change"}


def _confirm_with_password(client):
    return client.post("/account/confirm", {"method": "password", "password": DEFAULT_PASSWORD})


@pytest.mark.parametrize("action", sorted(ORG_CASES))
def test_an_old_sign_in_must_confirm_then_the_action_works(client, sign_in, org, org_owner, action):
    case = ORG_CASES[action](org, org_owner)
    sign_in(org_owner)
    user_session = sign_in_age(client, 11)
    audit_rows = AuditEvent.objects.count()

    refused = client.post(case.url, case.data, HTTP_REFERER=case.referer)

    assert refused.status_code == 302
    assert refused["Location"] == "/account/confirm"
    assert not case.done()
    assert AuditEvent.objects.count() == audit_rows  # nothing happened, nothing recorded
    page = unescape(client.get("/account/confirm").content.decode())
    assert "Confirm it's you" in page
    assert f"To {ACTIONS[action]}, confirm it's you (owner@acme.test)." in page

    confirmed = _confirm_with_password(client)

    assert confirmed.status_code == 302
    assert confirmed["Location"] == case.back_to
    back = unescape(client.get(confirmed["Location"]).content.decode())
    assert f"Confirmed — you can now {ACTIONS[action]}." in back
    event = AuditEvent.objects.get(action="step_up.succeeded")
    assert (event.actor, event.org, event.metadata["method"], event.metadata["for"]) == (
        org_owner, org, "password", action)
    # The same sign-in, confirmed: no new session, and the sign-in time applications see is unchanged.
    assert list(UserSession.objects.filter(user=org_owner).values_list("pk", "auth_time")) == [
        (user_session.pk, user_session.auth_time)]

    client.post(case.url, case.data)
    assert case.done()


# Actions whose GET page is their own form or confirmation: asked before it is shown, not after filling it in.
ASKED_ON_GET = {"application.secret_rotate", "application.delete", "api.secret_rotate", "api.delete",
                "api_key.create", "api_key.revoke", "api_key.delete", "group.delete", "membership.remove", "mfa.reset",
                "webhook.secret_rotate", "webhook.delete", "audit.retention_change"}


@pytest.mark.parametrize("action", sorted(ASKED_ON_GET))
def test_the_actions_own_page_asks_before_showing_the_form(client, sign_in, org, org_owner, action):
    case = ORG_CASES[action](org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 11)
    response = client.get(case.url)
    assert response.status_code == 302
    assert response["Location"] == "/account/confirm"
    assert _confirm_with_password(client)["Location"] == case.url
    assert client.get(case.url).status_code == 200
    assert not case.done()  # a GET never acts


@pytest.mark.parametrize("action", sorted(set(ORG_CASES) - ASKED_ON_GET))
def test_pages_that_show_more_than_the_action_are_not_gated_on_get(client, sign_in, org, org_owner, action):
    case = ORG_CASES[action](org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 11)
    assert client.get(case.back_to).status_code == 200


def test_the_branding_form_is_gated_with_the_settings(client, sign_in, org, org_owner):
    case = change_branding(org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 11)
    refused = client.post(case.url, case.data, HTTP_REFERER=case.referer)
    assert refused["Location"] == "/account/confirm"
    assert not case.done()
    assert _confirm_with_password(client)["Location"] == case.back_to
    client.post(case.url, case.data)
    assert case.done()


@pytest.mark.parametrize("action", sorted(ORG_CASES))
def test_a_fresh_sign_in_acts_at_once(client, sign_in, org, org_owner, action):
    case = ORG_CASES[action](org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 9)
    response = client.post(case.url, case.data)
    assert response.status_code in (200, 302)
    assert response.get("Location") != "/account/confirm"
    assert case.done()


@pytest.mark.parametrize("action", sorted(ORG_CASES))
def test_another_orgs_admin_gets_404_not_a_step_up(client, sign_in, org, org_owner, other_org_admin, action):
    case = ORG_CASES[action](org, org_owner)
    sign_in(other_org_admin)
    sign_in_age(client, 11)
    assert client.post(case.url, case.data).status_code == 404
    assert not case.done()
    assert PENDING_SESSION_KEY not in client.session


def test_a_step_up_lasts_as_long_as_a_sign_in(client, sign_in, org, org_owner):
    case = delete_group(org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 60)
    step_up_mark(client, minutes_ago=11)
    assert client.post(case.url)["Location"] == "/account/confirm"
    step_up_mark(client, minutes_ago=9)
    client.post(case.url)
    assert case.done()


def test_a_step_up_of_another_sign_in_does_not_count(client, sign_in, org, org_owner):
    case = delete_group(org, org_owner)
    sign_in(org_owner)
    step_up_mark(client)
    session = client.session
    session["gatehouse.step_up"]["sid"] = "another-sign-in"
    session.save()
    sign_in_age(client, 11)
    assert client.post(case.url)["Location"] == "/account/confirm"
    assert not case.done()


@pytest.mark.parametrize(("seconds", "minutes", "asked"), [(600, 9, False), (600, 11, True), (3600, 59, False),
                                                         (300, 6, True)])
def test_the_window_is_configurable(client, sign_in, org, org_owner, settings, seconds, minutes, asked):
    settings.GATEHOUSE_STEP_UP_SECONDS = seconds
    case = delete_group(org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, minutes)
    response = client.post(case.url)
    assert (response.get("Location") == "/account/confirm") is asked
    assert case.done() is not asked


def test_a_post_only_action_without_a_referer_comes_back_to_the_console(client, sign_in, org, org_owner):
    case = change_role(org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 11)
    client.post(case.url, case.data)
    assert _confirm_with_password(client)["Location"] == "/console/"


def test_a_foreign_referer_is_not_followed(client, sign_in, org, org_owner):
    case = change_role(org, org_owner)
    sign_in(org_owner)
    sign_in_age(client, 11)
    client.post(case.url, case.data, HTTP_REFERER="https://evil.example/console/acme/")
    assert _confirm_with_password(client)["Location"] == "/console/"


# ---------------------------------------------------------------------- operators


def test_an_operator_suspending_an_org_must_confirm(client, sign_in, org, operator):
    sign_in(operator)
    sign_in_age(client, 11)
    suspend = reverse("console:platform-org-suspend", kwargs={"slug": org.slug})
    listing = reverse("console:platform-orgs")

    # Suspending asks what it does first (orgs/confirmation.py); the step-up comes with the confirmed POST.
    refused = client.post(suspend, {"reason": "unpaid", "confirmed": "1"},
                          HTTP_REFERER=f"http://testserver{listing}")

    assert refused["Location"] == "/account/confirm"
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE
    assert "To suspend or reactivate the organization" in client.get("/account/confirm").content.decode()
    # Back to the suspend confirmation page (it answers GET), not straight into a suspension.
    assert _confirm_with_password(client)["Location"] == suspend
    assert "Suspend the organization Acme Corp?" in client.get(suspend).content.decode()
    event = AuditEvent.objects.get(action="step_up.succeeded")
    assert (event.actor, event.org, event.metadata["for"]) == (operator, None, "organization.status_change")
    client.post(suspend, {"reason": "unpaid", "confirmed": "1"})
    org.refresh_from_db()
    assert org.status == Organization.Status.SUSPENDED


def test_an_org_admin_gets_404_on_the_operators_action(client, sign_in, org, org_admin):
    sign_in(org_admin)
    sign_in_age(client, 11)
    assert client.post(reverse("console:platform-org-suspend", kwargs={"slug": org.slug})).status_code == 404
    assert PENDING_SESSION_KEY not in client.session

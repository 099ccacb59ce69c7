"""Every destructive action on applications, registered APIs and API keys shows its confirmation page first,
naming what happens and to whom, and changes nothing until it is confirmed (issue #13). Disabling an app,
ending a secret overlap, deleting an app role and deactivating a key were one click; deleting, rotating and
revoking had their own pages already and are held to the same rule here."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse

from applications.api_services import api_create
from applications.apikey_services import api_key_create
from applications.models import Api, ApiKey, Application, AppRole
from applications.role_services import app_role_create
from applications.services import client_secret_rotate
from applications.tests.token_factories import issue_tokens, machine_app, web_app
from audit.models import AuditEvent
from directory.tests.factories import GroupFactory

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


def text(response) -> str:
    return unescape(response.content.decode())


@dataclass
class Case:
    url: str
    says: list[str]  # on the confirmation page
    done: Callable[[], bool]
    audit: str
    asks_on_post: bool = True  # False: the page is reached by GET, and its form's POST acts (a dedicated page)
    data: dict = field(default_factory=dict)  # the confirming form's own fields


def _secret(model, pk):
    return model.objects.get(pk=pk).client_secret


def disable_app(org, owner):
    app = web_app(org, "HR portal")
    issue_tokens(application=app, user=owner)
    return Case(url("app-disable", org, app.pk), [
        "Disable the application HR portal?",
        f"Nobody can sign in to HR portal through Gatehouse: its client id {app.client_id} is refused.",
        "2 live tokens are revoked: people signed in to HR portal cannot renew their sign-in with them.",
        "You can enable it again later",
    ], lambda: Application.objects.get(pk=app.pk).status == "disabled", "application.disabled")


def end_secret_overlap(org, owner):
    app = machine_app(org, "Reports")
    client_secret_rotate(application=app, actor=owner, overlap=timedelta(hours=1))
    return Case(url("app-secret-overlap-end", org, app.pk), [
        "Stop the previous client secret of Reports now?",
        "The previous client secret of Reports stops working now instead of at",
        "Any copy of Reports still configured with it can no longer get tokens",
    ], lambda: not Application.objects.get(pk=app.pk).previous_client_secret, "application.secret_overlap_ended")


def delete_app_role(org, owner):
    app = web_app(org, "HR portal")
    group = GroupFactory(org=org, name="HR team", slug="hr-team")
    role = app_role_create(application=app, key="hr:admin", name="HR admins", groups=[group], actor=None)
    return Case(url("app-role-delete", org, app.pk, role.pk), [
        "Delete the role hr:admin of HR portal?",
        "Members of these groups no longer receive it in HR portal's tokens: HR team.",
        "Tokens already issued keep it until they expire.",
    ], lambda: not AppRole.objects.filter(pk=role.pk).exists(), "app_role.deleted")


def deactivate_api_key(org, owner):
    key, _raw = api_key_create(org=org, actor=owner, request=None, name="HR sync", scopes=["members.view"])
    return Case(url("apikey-deactivate", org, key.pk), [
        "Deactivate the API key HR sync?",
        f"Every request with the key starting {key.prefix} is refused from now on, until you reactivate it.",
        "It has never been used.",
    ], lambda: ApiKey.objects.get(pk=key.pk).deactivated_at is not None, "api_key.deactivated")


def delete_app(org, owner):
    app = web_app(org, "HR portal")
    issue_tokens(application=app, user=owner)
    return Case(url("app-delete", org, app.pk), ["Delete the application HR portal?", "2 live tokens are revoked."],
                lambda: not Application.objects.filter(pk=app.pk).exists(), "application.deleted", asks_on_post=False)


def rotate_client_secret(org, owner):
    app = web_app(org, "HR portal")
    before = _secret(Application, app.pk)
    return Case(url("app-secret-rotate", org, app.pk), ["Rotate the client secret of HR portal?",
                                                        "With no overlap it stops working immediately."],
                lambda: _secret(Application, app.pk) != before, "application.secret_rotated", asks_on_post=False,
                data={"overlap": "none"})


def _api(org):
    return api_create(org=org, name="Orders API", identifier="https://orders.acme.test",
                      scopes=[("orders:read", "Read your orders")]).api


def delete_api(org, owner):
    api = _api(org)
    return Case(url("api-delete", org, api.pk), ["Delete the API Orders API?", "No application is granted its scopes."],
                lambda: not Api.objects.filter(pk=api.pk).exists(), "api.deleted", asks_on_post=False)


def rotate_api_secret(org, owner):
    api = _api(org)
    before = _secret(Api, api.pk)
    return Case(url("api-secret-rotate", org, api.pk), ["Rotate the introspection secret of Orders API?",
                                                        "The current secret stops working immediately"],
                lambda: _secret(Api, api.pk) != before, "api.secret_rotated", asks_on_post=False)


def revoke_api_key(org, owner):
    key, _raw = api_key_create(org=org, actor=owner, request=None, name="HR sync", scopes=["members.view"])
    return Case(url("apikey-revoke", org, key.pk), ["Revoke the API key HR sync?", "Revoking cannot be undone."],
                lambda: ApiKey.objects.get(pk=key.pk).revoked_at is not None, "api_key.revoked", asks_on_post=False)


def delete_api_key(org, owner):
    key, _raw = api_key_create(org=org, actor=owner, request=None, name="HR sync", scopes=["members.view"])
    return Case(url("apikey-delete", org, key.pk), ["Delete the API key HR sync?", "stops working immediately"],
                lambda: not ApiKey.objects.filter(pk=key.pk).exists(), "api_key.deleted", asks_on_post=False)


CASES = {f.__name__: f for f in [disable_app, end_secret_overlap, delete_app_role, deactivate_api_key, delete_app,
                                 rotate_client_secret, delete_api, rotate_api_secret, revoke_api_key,
                                 delete_api_key]}


def _first_requests(client, case):
    yield client.get(case.url)
    if case.asks_on_post:
        yield client.post(case.url, case.data)


@pytest.mark.parametrize("action", CASES)
def test_the_confirmation_page_comes_first_and_changes_nothing(org_owner, sign_in, org, action):
    case = CASES[action](org, org_owner)
    owner = sign_in(org_owner)
    events = AuditEvent.objects.count()
    for response in _first_requests(owner, case):
        assert response.status_code == 200
        page = text(response)
        for sentence in case.says:
            assert sentence in page, sentence
        assert not case.done()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("action", CASES)
def test_the_confirmed_post_makes_the_change_and_audits_it(org_owner, sign_in, org, action):
    case = CASES[action](org, org_owner)
    owner = sign_in(org_owner)
    response = owner.post(case.url, {**case.data, "confirmed": "1"})
    assert response.status_code in (200, 302)  # a rotation answers with the page that shows the new secret
    assert case.done()
    assert AuditEvent.objects.filter(action=case.audit, org=org, actor=org_owner).count() == 1


@pytest.mark.parametrize("action", CASES)
def test_another_orgs_admin_gets_404_on_both_steps(other_org_admin_client, org, org_owner, action):
    case = CASES[action](org, org_owner)
    events = AuditEvent.objects.count()
    assert other_org_admin_client.get(case.url).status_code == 404
    assert other_org_admin_client.post(case.url, case.data).status_code == 404
    assert other_org_admin_client.post(case.url, {**case.data, "confirmed": "1"}).status_code == 404
    assert not case.done()
    assert AuditEvent.objects.count() == events


def test_the_disable_page_has_a_named_danger_button_and_a_way_back(org_admin_client, org, org_owner):
    case = disable_app(org, org_owner)
    app = Application.objects.get(name="HR portal")
    page = org_admin_client.post(case.url).content.decode()
    assert '<button type="submit" class="danger">Disable HR portal</button>' in page
    assert f'<form method="post" action="{case.url}" novalidate>' in page
    assert f'href="{url("app-detail", org, app.pk)}" role="button" class="secondary outline">Cancel</a>' in page


def test_a_machine_app_is_said_to_lose_its_tokens_not_its_sign_ins(org_admin_client, org):
    app = machine_app(org, "Reports")
    page = text(org_admin_client.get(url("app-disable", org, app.pk)))
    assert f"Reports can no longer get tokens: its client id {app.client_id} is refused." in page


def test_enabling_acts_at_once(org_admin_client, org, org_owner):
    app = web_app(org, "HR portal")
    Application.objects.filter(pk=app.pk).update(status="disabled")
    assert org_admin_client.post(url("app-enable", org, app.pk)).status_code == 302
    assert Application.objects.get(pk=app.pk).status == "active"


def test_a_revoked_key_cannot_be_deactivated_and_the_page_says_so(org_admin_client, org, org_owner):
    key, _raw = api_key_create(org=org, actor=org_owner, request=None, name="Old", scopes=["members.view"])
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    page = text(org_admin_client.post(url("apikey-deactivate", org, key.pk)))
    assert "The key Old is revoked; it cannot be deactivated or used again." in page
    assert 'name="confirmed"' not in page


def test_a_key_that_was_used_names_where_it_was_last_used(org_admin_client, org, org_owner):
    key, _raw = api_key_create(org=org, actor=org_owner, request=None, name="HR sync", scopes=["members.view"])
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=key.created_at, last_used_ip="203.0.113.9")
    page = text(org_admin_client.get(url("apikey-deactivate", org, key.pk)))
    assert "from 203.0.113.9: whatever runs there stops working." in page

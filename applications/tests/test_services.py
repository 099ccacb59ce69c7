"""Registering applications: kind decides client type and grant; secrets are hashed; tenants stay apart."""

import pytest
from django.contrib.auth.hashers import check_password
from django.http import Http404

from applications.models import Application
from applications.selectors import application_get, application_list
from applications.services import application_create
from audit.models import AuditEvent
from config.exceptions import AlreadyExists, DomainError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "client_type", "grant"),
    [
        ("web", "confidential", "authorization-code"),
        ("spa", "public", "authorization-code"),
        ("native", "public", "authorization-code"),
        ("machine", "confidential", "client-credentials"),
    ],
)
def test_kind_decides_client_type_and_grant(org, kind, client_type, grant):
    uris = [] if kind == "machine" else ["https://app.example/callback"]
    created = application_create(org=org, name=f"{kind} app", kind=kind, redirect_uris=uris)
    app = Application.objects.get(pk=created.application.pk)
    assert (app.client_type, app.authorization_grant_type) == (client_type, grant)
    assert app.org == org


def test_confidential_secret_is_long_shown_once_and_stored_hashed(org, operator):
    created = application_create(org=org, name="HR", kind="web", redirect_uris=["https://hr.example/cb"],
                                 actor=operator)
    secret = created.client_secret
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64
    stored = Application.objects.get(pk=created.application.pk).client_secret
    assert secret not in stored
    assert check_password(secret, stored)
    event = AuditEvent.objects.get(action="application.created")
    assert event.org == org
    assert event.actor == operator
    assert event.metadata["client_id"] == created.application.client_id
    assert secret not in str(event.metadata)


def test_public_kinds_get_no_secret(org):
    created = application_create(org=org, name="SPA", kind="spa", redirect_uris=["https://spa.example/cb"])
    assert created.client_secret is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "web", "redirect_uris": []}, "redirect_uris"),
        ({"kind": "machine", "redirect_uris": ["https://x.example/cb"]}, "redirect_uris"),
        ({"kind": "robot", "redirect_uris": []}, "kind"),
        ({"kind": "web", "redirect_uris": ["javascript:alert(1)"]}, "redirect_uris"),
        ({"kind": "web", "redirect_uris": ["https://x.example/cb#fragment"]}, "redirect_uris"),
        ({"kind": "web", "redirect_uris": ["https://x.example/cb"], "name": "  "}, "name"),
        ({"kind": "web", "redirect_uris": ["https://x.example/a b"]}, "redirect_uris"),
        ({"kind": "web", "redirect_uris": [" "]}, "redirect_uris"),
    ],
)
def test_bad_registrations_are_refused_and_write_nothing(org, kwargs, field):
    kwargs = {"name": "App", **kwargs}
    with pytest.raises(DomainError) as excinfo:
        application_create(org=org, **kwargs)
    assert excinfo.value.field == field
    assert excinfo.value.message
    assert not Application.objects.exists()
    assert not AuditEvent.objects.filter(action="application.created").exists()


def test_client_ids_are_unique_across_orgs(org, other_org):
    application_create(org=org, name="A", kind="machine", client_id="shared-id")
    with pytest.raises(AlreadyExists):
        application_create(org=other_org, name="B", kind="machine", client_id="shared-id")
    assert Application.objects.count() == 1


def test_another_orgs_application_is_404(org, other_org):
    theirs = application_create(org=other_org, name="Theirs", kind="machine").application
    with pytest.raises(Http404):
        application_get(org=org, pk=theirs.pk)
    for junk in ("nope", None, "1; DROP TABLE"):
        with pytest.raises(Http404):
            application_get(org=org, pk=junk)
    assert list(application_list(org=org)) == []
    assert application_get(org=other_org, pk=theirs.pk) == theirs


def test_disabled_app_or_suspended_org_is_not_usable(org):
    app = application_create(org=org, name="A", kind="machine").application
    assert app.is_usable(None)
    org.status = org.Status.SUSPENDED
    org.save()
    app.refresh_from_db()
    assert not app.is_usable(None)
    org.status = org.Status.ACTIVE
    org.save()
    app.status = Application.Status.DISABLED
    app.save()
    app.refresh_from_db()
    assert not app.is_usable(None)


def test_post_logout_uris_origins_and_trust_are_registered(org):
    app = application_create(org=org, name="SPA", kind="spa", redirect_uris=["https://spa.example/cb"],
                             post_logout_redirect_uris=["https://spa.example/bye"],
                             allowed_origins=["https://spa.example"], trusted=True).application
    app.refresh_from_db()
    assert app.post_logout_redirect_uris == "https://spa.example/bye"
    assert app.allowed_origins == "https://spa.example"
    assert app.skip_authorization is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "web", "allowed_origins": ["https://x.example"]}, "allowed_origins"),
        ({"kind": "spa", "allowed_origins": ["not an origin"]}, "allowed_origins"),
        ({"kind": "spa", "allowed_origins": ["ftp://x.example"]}, "allowed_origins"),
        ({"kind": "web", "post_logout_redirect_uris": ["javascript:alert(1)"]}, "post_logout_redirect_uris"),
    ],
)
def test_bad_logout_uris_and_origins_are_refused(org, kwargs, field):
    with pytest.raises(DomainError) as excinfo:
        application_create(org=org, name="App", redirect_uris=["https://x.example/cb"], **kwargs)
    assert excinfo.value.field == field
    assert not Application.objects.exists()

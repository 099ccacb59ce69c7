"""Withdrawing consent from the account page: the app asks again, and its tokens for the user are revoked."""

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from applications.models import Consent
from applications.services import application_create
from audit.models import AuditEvent
from directory.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_app(org):
    return application_create(org=org, name="HR Portal", kind="web",
                              redirect_uris=["https://hr.example/cb"]).application


def _token(user, app, value):
    return get_access_token_model().objects.create(
        user=user, application=app, token=value, expires=timezone.now() + timezone.timedelta(hours=1),
        scope="openid")


def test_account_page_lists_consents_and_withdraws_one(client, sign_in, org_admin, web_app):
    consent = Consent.objects.create(user=org_admin, application=web_app, scopes="openid email")
    _token(org_admin, web_app, "tok-1")
    signed_in = sign_in(org_admin)
    page = signed_in.get("/account/").content.decode()
    assert "Applications you allowed" in page
    assert "Withdraw consent for HR Portal" in page
    response = signed_in.post(f"/account/consents/{consent.pk}/withdraw", follow=True)
    assert "HR Portal will ask for your permission again next time." in response.content.decode()
    assert not Consent.objects.exists()
    assert not get_access_token_model().objects.filter(user=org_admin).exists()
    event = AuditEvent.objects.get(action="consent.withdrawn")
    assert event.actor == org_admin
    assert event.org == web_app.org
    assert event.metadata["tokens_revoked"] >= 1


def test_someone_elses_consent_is_404_and_untouched(client, sign_in, org_admin, web_app):
    other = UserFactory()
    consent = Consent.objects.create(user=other, application=web_app, scopes="openid")
    response = sign_in(org_admin).post(f"/account/consents/{consent.pk}/withdraw")
    assert response.status_code == 404
    assert Consent.objects.filter(pk=consent.pk).exists()
    assert sign_in(org_admin).post("/account/consents/999999/withdraw").status_code == 404


def test_withdraw_by_get_changes_nothing(client, sign_in, org_admin, web_app):
    consent = Consent.objects.create(user=org_admin, application=web_app, scopes="openid")
    assert sign_in(org_admin).get(f"/account/consents/{consent.pk}/withdraw").status_code == 405
    assert Consent.objects.filter(pk=consent.pk).exists()


def test_withdraw_needs_sign_in(client, org_admin, web_app):
    consent = Consent.objects.create(user=org_admin, application=web_app, scopes="openid")
    response = client.post(f"/account/consents/{consent.pk}/withdraw")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
    assert Consent.objects.filter(pk=consent.pk).exists()

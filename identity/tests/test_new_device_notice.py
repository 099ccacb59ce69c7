"""A sign-in from a device not used lately is emailed to the user, when one of their orgs asks for it."""

import pytest
from django.test import Client

from emailqueue.models import OutboundEmail

pytestmark = pytest.mark.django_db

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


def _sign_in(user, password, agent):
    response = Client(HTTP_USER_AGENT=agent).post("/login", {"email": user.email, "password": password})
    assert response.status_code == 302


def test_new_device_is_reported_when_the_org_asks(org, org_member, password):
    org.notify_new_device_sign_in = True
    org.save()
    _sign_in(org_member, password, FIREFOX_LINUX)
    assert not OutboundEmail.objects.filter(kind="new_device_sign_in").exists()  # first sign-in ever
    _sign_in(org_member, password, FIREFOX_LINUX)
    assert not OutboundEmail.objects.filter(kind="new_device_sign_in").exists()  # same device
    _sign_in(org_member, password, SAFARI_IPHONE)
    notice = OutboundEmail.objects.get(kind="new_device_sign_in")
    assert notice.recipient == org_member.email
    assert "Safari on iOS" in notice.subject
    assert "/password/reset" in notice.body_text


def test_no_notice_when_no_org_asks(org, org_member, password):
    _sign_in(org_member, password, FIREFOX_LINUX)
    _sign_in(org_member, password, SAFARI_IPHONE)
    assert not OutboundEmail.objects.filter(kind="new_device_sign_in").exists()

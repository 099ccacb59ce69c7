"""The client IP: the socket's address unless the request came through a trusted proxy."""

import pytest

from audit.models import AuditEvent
from config.client_ip import client_ip

PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = ["10.0.0.0/8", "fd00::/8"]
    return settings


def meta(remote: str, forwarded: str | None = None) -> dict:
    data = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        data["HTTP_X_FORWARDED_FOR"] = forwarded
    return data


# ---------------------------------------------------------------- client_ip()


def test_no_trusted_proxy_means_the_socket_address(settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = []
    assert client_ip(meta("203.0.113.7")) == "203.0.113.7"
    assert client_ip(meta("10.0.0.5", "198.51.100.1")) == "10.0.0.5"


def test_forwarded_header_from_an_untrusted_peer_is_ignored(behind_proxy):
    assert client_ip(meta("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("198.51.100.1", "198.51.100.1"),
        # The client may send its own X-Forwarded-For; our proxy appends the real peer at the right.
        ("1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # Two of our proxies in a row: skip both, stop at the first address we did not add.
        ("1.2.3.4, 198.51.100.1, 10.1.2.3", "198.51.100.1"),
        ("  198.51.100.1 ,10.1.2.3  ", "198.51.100.1"),
        # Everything trusted: the left-most hop is as far as we can see.
        ("10.9.9.9, 10.1.2.3", "10.9.9.9"),
        # A malformed hop stops the walk: nothing left of it can be believed.
        ("198.51.100.1, not-an-ip", PROXY),
        ("not-an-ip, 198.51.100.1", "198.51.100.1"),
        ("", PROXY),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_trusted_proxy_walks_forwarded_for_from_the_right(behind_proxy, forwarded, expected):
    assert client_ip(meta(PROXY, forwarded)) == expected


def test_trusted_ipv6_proxy(behind_proxy):
    assert client_ip(meta("fd00::1", "198.51.100.1")) == "198.51.100.1"


def test_trusted_proxy_without_forwarded_header_is_the_client(behind_proxy):
    assert client_ip(meta(PROXY)) == PROXY


def test_changing_the_setting_takes_effect(settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = []
    assert client_ip(meta(PROXY, "198.51.100.1")) == PROXY
    settings.GATEHOUSE_TRUSTED_PROXIES = ["10.0.0.5"]
    assert client_ip(meta(PROXY, "198.51.100.1")) == "198.51.100.1"


def test_garbage_remote_address_is_returned_not_trusted(behind_proxy):
    assert client_ip(meta("unix-socket", "198.51.100.1")) == "unix-socket"
    assert client_ip({}) == ""


# ---------------------------------------------------------------- through a request, into the audit log


def failed_login(client, **extra):
    response = client.post(
        "/login", {"email": "alice@acme.test", "password": "not-her-password"}, **extra
    )
    assert response.status_code == 200
    assert "Incorrect email or password." in response.content.decode()
    return AuditEvent.objects.get(action="login.failed")


@pytest.mark.django_db
def test_audit_keeps_the_forwarded_client_behind_a_trusted_proxy(client, behind_proxy):
    event = failed_login(client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    assert event.ip == "198.51.100.1"
    assert event.forwarded_for == "1.2.3.4, 198.51.100.1"
    assert event.metadata["email"] == "alice@acme.test"


@pytest.mark.django_db
def test_audit_ignores_a_spoofed_header_from_an_untrusted_peer(client, behind_proxy):
    event = failed_login(client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert event.ip == "203.0.113.7"
    # The raw header is kept beside it, so an investigator sees what was claimed.
    assert event.forwarded_for == "198.51.100.1"


@pytest.mark.django_db
def test_audit_ignores_forwarded_for_when_no_proxy_is_trusted(client, settings):
    settings.GATEHOUSE_TRUSTED_PROXIES = []
    event = failed_login(client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert event.ip == PROXY
    assert event.forwarded_for == "198.51.100.1"

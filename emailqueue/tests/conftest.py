"""Outbox fixtures: test-only message templates, a real SMTP sink, settings that point at it, a clock."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F

from emailqueue.models import OutboundEmail
from emailqueue.tests.smtp_sink import SmtpSink, free_port

TEST_TEMPLATES = Path(__file__).resolve().parent / "templates"


@pytest.fixture(autouse=True)
def _test_email_templates(settings):
    """templates/email/outbox_test_* live with these tests, not with the product's templates."""
    settings.TEMPLATES = [
        {**engine, "DIRS": [*engine["DIRS"], TEST_TEMPLATES]} for engine in settings.TEMPLATES
    ]


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def _point_at(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    """Django's SMTP backend, pointed at the sink."""
    _point_at(settings, smtp_sink.port)
    return settings


@pytest.fixture
def smtp_down(settings):
    """Django's SMTP backend, pointed at a loopback port nobody listens on. Call it with a sink to bring SMTP back."""
    _point_at(settings, free_port())

    def back(sink: SmtpSink) -> None:
        _point_at(settings, sink.port)

    return back


@pytest.fixture
def advance_clock():
    """Make time pass for the outbox: every stored time moves back, as if `seconds` had elapsed."""

    def advance(seconds: float) -> None:
        delta = timedelta(seconds=seconds)
        OutboundEmail.objects.update(
            created_at=F("created_at") - delta,
            next_attempt_at=F("next_attempt_at") - delta,
        )
        OutboundEmail.objects.filter(claimed_at__isnull=False).update(claimed_at=F("claimed_at") - delta)
        OutboundEmail.objects.filter(dispatched_at__isnull=False).update(dispatched_at=F("dispatched_at") - delta)

    return advance

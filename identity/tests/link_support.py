"""Reading one-time links out of the outbox, as a person reading the email would."""

import re
from urllib.parse import urlsplit

from django.conf import settings

from emailqueue.models import OutboundEmail

LINK = re.compile(r"https?://\S+?/(?:invitation|password/reset|account/email/confirm|account/email/verify)/[A-Za-z0-9_-]+")


def outbox(**filters) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(**filters).order_by("created_at", "id"))


def link_in(email: OutboundEmail) -> str:
    """The one-time link of a message, checked to be on the issuer's origin, as a path for the test client."""
    links = set(LINK.findall(email.body_text))
    assert len(links) == 1, f"expected one one-time link in {email.subject!r}, found {links}"
    link = links.pop()
    assert link.startswith(settings.GATEHOUSE_ISSUER + "/")
    assert link in email.body_html, "the HTML body carries the same link"
    return urlsplit(link).path


def last_link(**filters) -> str:
    return link_in(outbox(**filters)[-1])


def tampered(path: str) -> str:
    """The same link with one character of the token changed."""
    head, token = path.rsplit("/", 1)
    return f"{head}/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}"

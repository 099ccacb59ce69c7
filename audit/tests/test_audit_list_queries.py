"""The audit log pages run a fixed number of queries per page, whatever they show (no N+1)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from directory.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

# Session, user, user session, org, the viewer's role, the page of events, plus slack for the request
# machinery; far below the 50 rows a page shows, so one query per row cannot hide.
MAX_QUERIES = 10

VARIANTS = {
    "first page": {},
    "actor": {"actor": "actor"},
    "action": {"action": "login.failed"},
    "action prefix": {"action": "login."},
    "target id": {"target": "7"},
    "target label": {"target": "bob@"},
    "date range": {"date_from": "2026-03-10", "date_to": "2026-03-11"},
    "ip": {"ip": "198.51.100.3"},
    "every filter": {"actor": "actor", "action": "login.", "target": "bob@", "date_from": "2026-03-10",
                     "date_to": "2026-03-12", "ip": "198.51.100.3"},
}


def list_url(org=None, query=None) -> str:
    url = (reverse("console:audit-list", kwargs={"org_slug": org.slug}) if org
           else reverse("console:platform-audit-list"))
    return url + ("?" + urlencode(query) if query else "")


def seed(org, count: int, *, start: int = 0, actors: list | None = None) -> None:
    """`count` events, each by a different real user (an actor FK the page must not load one by one)."""
    for i in range(start, start + count):
        actor = actors[i % len(actors)] if actors else UserFactory(email=f"actor{i:03d}@acme.test")
        AuditEvent.objects.create(
            org=org, actor=actor, actor_label=actor.email, action=["login.failed", "login.succeeded"][i % 2],
            target_type="directory.user", target_id="7", target_label="bob@acme.test",
            ip="198.51.100.3", created_at=T0 + timedelta(minutes=i), metadata={"n": i},
        )


def queries_for(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert not response.context["form"].errors
    return len(captured.captured_queries), len(response.context["rows"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_list_variant_has_bounded_queries(org_admin_client, org, other_org, variant,
                                               django_assert_max_num_queries):
    seed(org, 60)
    AuditEvent.objects.create(org=other_org, action="login.failed", actor_label="actor@globex.test",
                              target_id="7", ip="198.51.100.3", created_at=T0)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = org_admin_client.get(list_url(org, VARIANTS[variant]))
    rows = response.context["rows"]
    assert len(rows) >= 25, variant
    assert all(event.org_id == org.pk for event, _ in rows)
    assert "actor@globex.test" not in response.content.decode()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_query_count_does_not_grow_with_the_rows_shown(org_admin_client, org, variant):
    """3 events or a full page of 50 by 50 different actors: the same queries."""
    seed(org, 3)
    few, few_rows = queries_for(org_admin_client, list_url(org, VARIANTS[variant]))
    seed(org, 80, start=3)
    many, many_rows = queries_for(org_admin_client, list_url(org, VARIANTS[variant]))
    assert many_rows > few_rows
    assert many == few


def test_deep_pages_have_the_same_bounded_queries(org_admin_client, org, django_assert_max_num_queries):
    seed(org, 130, actors=[UserFactory(email=f"actor{i}@acme.test") for i in range(7)])
    query, pages, seen = {"action": "login."}, 0, set()
    while True:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = org_admin_client.get(list_url(org, query))
        ids = [event.pk for event, _ in response.context["rows"]]
        assert not set(ids) & seen
        seen |= set(ids)
        pages += 1
        if not response.context["next_page_query"]:
            break
        query = dict(parse_qsl(response.context["next_page_query"]))
    assert pages == 3
    assert len(seen) == 130


@pytest.mark.parametrize("query", [{}, {"org": "acme"}, {"org": "-"}, {"actor": "actor", "ip": "198.51.100.3"}])
def test_platform_list_has_bounded_queries(operator_client, org, other_org, query):
    """The operator's page also shows each event's org: loaded with the page, not per row."""
    seed(org, 2)
    seed(other_org, 2, start=2)
    seed(None, 2, start=4)
    few, few_rows = queries_for(operator_client, list_url(None, query))
    seed(org, 30, start=10)
    seed(other_org, 30, start=40)
    seed(None, 30, start=70)
    many, many_rows = queries_for(operator_client, list_url(None, query))
    assert many_rows > few_rows
    assert many == few <= MAX_QUERIES

"""The console's users list runs a fixed number of queries per page, whatever it shows (no N+1)."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from orgs.models import Membership

pytestmark = pytest.mark.django_db

# Session, user, user session, org, the viewer's role, the page, the group filter's options, plus slack
# for the request machinery; far below the 50 rows a page shows, so one query per row cannot hide.
MAX_QUERIES = 10

VARIANTS = {
    "first page": {},
    "search": {"q": "Mem"},
    "search email": {"q": "member0"},
    "status": {"status": "invited"},
    "role": {"role": "auditor"},
    "group": {"group": "ops"},
    "status in group": {"status": "active", "group": "ops"},
    "sort by name": {"sort": "name"},
    "sort by created": {"sort": "created"},
}


def list_url(org, query=None) -> str:
    url = reverse("console:user-list", kwargs={"org_slug": org.slug})
    return url + ("?" + urlencode(query) if query else "")


def seed(org, count: int) -> dict:
    """`count` members, each in two of three groups, with every status and role; and another org's."""
    groups = {slug: GroupFactory(org=org, name=slug.title(), slug=slug) for slug in ("ops", "dev", "sales")}
    slugs = list(groups)
    now = timezone.now()
    for i in range(count):
        user = UserFactory(email=f"member{i:03d}@acme.test", full_name=f"Member {i:03d}")
        MembershipFactory(org=org, user=user, created_at=now - timedelta(minutes=i),
                          status=[Membership.Status.ACTIVE, Membership.Status.INVITED][i % 2],
                          role=[Membership.Role.MEMBER, Membership.Role.AUDITOR][i % 3 == 0])
        for slug in (slugs[i % 3], slugs[(i + 1) % 3]):
            GroupMembershipFactory(group=groups[slug], user=user)
    return groups


def resolved(query: dict, groups: dict) -> dict:
    return {k: groups[v].pk if k == "group" else v for k, v in query.items()}


def queries_for(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_list_variant_has_bounded_queries(org_admin_client, org, other_org, variant,
                                               django_assert_max_num_queries):
    groups = seed(org, 60)
    MembershipFactory(org=other_org, user=UserFactory(email="member999@globex.test", full_name="Member Globex"))
    with django_assert_max_num_queries(MAX_QUERIES):
        response = org_admin_client.get(list_url(org, resolved(VARIANTS[variant], groups)))
    page = response.content.decode()
    rows = response.context["rows"]
    assert rows, variant
    assert "member999@globex.test" not in page
    for membership, _ in rows:
        assert membership.user.email in page  # the user came with the membership, not one query each


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_query_count_does_not_grow_with_the_rows_shown(client, sign_in, org, org_admin, variant):
    """5 members or 60 (a full page of 50): the same queries."""
    few_groups = seed(org, 5)
    admin_client = sign_in(org_admin)
    few, _ = queries_for(admin_client, list_url(org, resolved(VARIANTS[variant], few_groups)))
    for slug, group in few_groups.items():
        for i in range(5, 60):
            if slug in ("ops", "dev"):
                user = UserFactory(email=f"member{i:03d}{slug}@acme.test", full_name=f"Member more {i}")
                MembershipFactory(org=org, user=user, role=[Membership.Role.MEMBER, Membership.Role.AUDITOR][i % 2],
                                  status=[Membership.Status.ACTIVE, Membership.Status.INVITED][i % 2])
                GroupMembershipFactory(group=group, user=user)
    many, page = queries_for(admin_client, list_url(org, resolved(VARIANTS[variant], few_groups)))
    assert page.count("<tr>") > 20  # header + a page of rows
    assert many == few


@pytest.mark.parametrize("sort", ["email", "name", "created"])
def test_deep_pages_have_the_same_bounded_queries(org_admin_client, org, sort, django_assert_max_num_queries):
    seed(org, 130)
    query, pages, seen = {"sort": sort}, 0, set()
    while True:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = org_admin_client.get(list_url(org, query))
        rows = response.context["rows"]
        assert not {m.pk for m, _ in rows} & seen
        seen |= {m.pk for m, _ in rows}
        pages += 1
        if not response.context["next_page_query"]:
            break
        query = dict(parse_qsl(response.context["next_page_query"]))
    assert pages == 3
    assert len(seen) == Membership.objects.filter(org=org).count()


def test_a_deep_search_page_has_bounded_queries(org_admin_client, org, django_assert_max_num_queries):
    seed(org, 130)
    first = org_admin_client.get(list_url(org, {"q": "member", "sort": "name"}))
    query = dict(parse_qsl(first.context["next_page_query"]))
    with django_assert_max_num_queries(MAX_QUERIES):
        second = org_admin_client.get(list_url(org, query))
    names = [m.user.full_name for m, _ in first.context["rows"] + second.context["rows"]]
    assert names == sorted(names)
    assert len(set(names)) == 100

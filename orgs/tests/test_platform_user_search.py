"""The operator's user search across every org (issue #13 item 6): by email or name prefix in any letter
case, each account with its orgs, roles and statuses linking to the org's member page, paginated; no
one but an operator sees it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from orgs.models import Membership
from orgs.platform_selectors import USER_SEARCH_PAGE_SIZE

pytestmark = pytest.mark.django_db

SEARCH = reverse("console:platform-users")


def squeeze(page: str) -> str:
    """The page with each run of whitespace made one space (components end with a newline)."""
    return " ".join(page.split())


def emails_on(page: str) -> list[str]:
    return re.findall(r'<strong class="user-email">([^<]+)</strong>', page)


@pytest.fixture
def people(org, other_org):
    dana = UserFactory(email="dana.scully@fbi.example", full_name="Dana Scully")
    MembershipFactory(org=org, user=dana, role=Membership.Role.ADMIN)
    MembershipFactory(org=other_org, user=dana, role=Membership.Role.MEMBER, status=Membership.Status.INVITED)
    fox = UserFactory(email="fox@fbi.example", full_name="Fox Mulder")
    MembershipFactory(org=other_org, user=fox, role=Membership.Role.OWNER, status=Membership.Status.SUSPENDED)
    walter = UserFactory(email="skinner@fbi.example", full_name="Walter Skinner")
    loner = UserFactory(email="lone.gunman@example.test", full_name="Frohike")
    return {"dana": dana, "fox": fox, "walter": walter, "loner": loner}


def test_search_by_email_prefix_in_any_case_shows_each_org_with_role_and_status(operator_client, people, org,
                                                                                other_org):
    page = squeeze(operator_client.get(SEARCH, {"q": "DANA.S"}).content.decode())
    assert emails_on(page) == ["dana.scully@fbi.example"]
    dana = people["dana"]
    acme = reverse("console:user-detail", args=[org.slug, dana.pk])
    globex = reverse("console:user-detail", args=[other_org.slug, dana.pk])
    assert f'<a href="{acme}">Acme Corp</a> · Admin · <span class="status-badge status-active">Active</span>' in page
    assert f'<a href="{globex}">Globex</a> · Member · <span class="status-badge status-invited">Invited</span>' in page
    assert page.index(acme) < page.index(globex)  # orgs by name


def test_search_by_name_prefix(operator_client, people, other_org):
    page = squeeze(operator_client.get(SEARCH, {"q": "fox m"}).content.decode())
    assert emails_on(page) == ["fox@fbi.example"]
    assert "Owner · <span class=\"status-badge status-suspended\">Suspended</span>" in page
    assert emails_on(operator_client.get(SEARCH, {"q": "walt"}).content.decode()) == ["skinner@fbi.example"]


def test_no_query_lists_every_account_by_email_including_those_in_no_org(operator_client, people, operator):
    page = operator_client.get(SEARCH).content.decode()
    assert emails_on(page) == ["dana.scully@fbi.example", "fox@fbi.example", "lone.gunman@example.test",
                               "operator@example.com", "skinner@fbi.example"]
    assert "No organization" in page
    assert "Platform operator" in page


def test_no_match_says_so_and_keeps_the_query(operator_client, people):
    page = squeeze(operator_client.get(SEARCH, {"q": "<zzz>"}).content.decode())
    assert emails_on(page) == []
    assert "No account's email or name starts with “&lt;zzz&gt;”." in page
    assert 'value="&lt;zzz&gt;"' in page


def test_wildcards_are_literal(operator_client, people):
    assert emails_on(operator_client.get(SEARCH, {"q": "%"}).content.decode()) == []
    assert emails_on(operator_client.get(SEARCH, {"q": "_ox"}).content.decode()) == []


def test_pages_follow_the_cursor_and_keep_the_query(operator_client, db):
    org = OrganizationFactory(slug="big", name="Big")
    for n in range(USER_SEARCH_PAGE_SIZE + 5):
        MembershipFactory(org=org, user=UserFactory(email=f"member{n:03d}@big.example"))
    UserFactory(email="other@else.example")
    first = operator_client.get(SEARCH, {"q": "member"})
    page_one = emails_on(first.content.decode())
    assert len(page_one) == USER_SEARCH_PAGE_SIZE
    assert first.context["is_first_page"] is True
    next_query = first.context["next_page_query"]
    assert next_query.startswith("q=member&after=")
    second = operator_client.get(f"{SEARCH}?{next_query}")
    page_two = emails_on(second.content.decode())
    assert page_two == [f"member{n:03d}@big.example" for n in range(USER_SEARCH_PAGE_SIZE, USER_SEARCH_PAGE_SIZE + 5)]
    assert second.context["next_page_query"] == ""
    assert f'href="{SEARCH}?q=member">First page</a>' in second.content.decode()


def test_a_broken_page_link_says_so_and_shows_the_first_page(operator_client, people):
    response = operator_client.get(SEARCH, {"q": "fox", "after": "not-a-cursor!"})
    assert response.status_code == 200
    assert "This page link is not valid any more" in response.content.decode()
    assert emails_on(response.content.decode()) == ["fox@fbi.example"]


def test_an_overlong_query_is_a_field_error_not_a_500(operator_client, people):
    response = operator_client.get(SEARCH, {"q": "a" * 300})
    assert response.status_code == 200
    assert response.context["form"].errors["q"]


def test_one_page_costs_a_fixed_number_of_queries(operator_client, db):
    orgs = [OrganizationFactory(slug=f"o{n}") for n in range(3)]
    for n in range(20):
        user = UserFactory(email=f"u{n:02d}@example.test")
        for o in orgs:
            MembershipFactory(org=o, user=user)
    with CaptureQueriesContext(connection) as queries:
        assert operator_client.get(SEARCH, {"q": "u"}).status_code == 200
    few = len(queries)
    UserFactory(email="u99@example.test")
    with CaptureQueriesContext(connection) as queries:
        operator_client.get(SEARCH, {"q": "u"})
    assert len(queries) == few  # memberships and orgs come in one prefetch, not one query per row


@pytest.mark.parametrize("role", ["owner", "admin", "auditor", "member"])
def test_org_roles_get_404(sign_in, org, people, role):
    client = sign_in(MembershipFactory(org=org, role=role).user)
    response = client.get(SEARCH, {"q": "dana"})
    assert response.status_code == 404
    assert "dana.scully" not in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(SEARCH)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_operators_find_the_page_in_the_sidebar(operator_client):
    page = operator_client.get(reverse("console:platform-orgs")).content.decode()
    assert f'<a href="{SEARCH}">Users</a>' in page

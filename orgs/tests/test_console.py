"""The console shell: who reaches which page, tenant isolation, and the platform operator's pages."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from directory.tests.factories import MembershipFactory, UserFactory
from orgs.models import Membership, Organization

pytestmark = pytest.mark.django_db


def strip_csrf(content: bytes) -> str:
    # The console's 404 has the sign-out form too, whose hidden token is masked per response as well.
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def overview(slug: str) -> str:
    return reverse("console:org-overview", kwargs={"org_slug": slug})


# ---------------------------------------------------------------- every console page, every role


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("auditor", 200), ("member", 403)],
)
def test_org_overview_by_role(client, sign_in, org, role, expected):
    user = MembershipFactory(org=org, role=role).user
    response = sign_in(user).get(overview("acme"))
    assert response.status_code == expected
    if expected == 200:
        assert "Acme Corp" in response.content.decode()
        assert "Overview" in response.content.decode()
    else:
        assert "does not allow this" in response.content.decode()


def test_org_overview_for_operator(operator_client, org):
    response = operator_client.get(overview("acme"))
    assert response.status_code == 200
    assert "Acme Corp" in response.content.decode()


def test_org_overview_for_anonymous_redirects_to_sign_in(client, org):
    response = client.get(overview("acme"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/console/acme/")


def test_another_orgs_admin_gets_404_on_overview(other_org_admin_client, org):
    response = other_org_admin_client.get(overview("acme"))
    assert response.status_code == 404
    assert "Acme" not in response.content.decode()


def test_unknown_org_and_foreign_org_answer_alike(other_org_admin_client, org):
    foreign = other_org_admin_client.get(overview("acme"))
    unknown = other_org_admin_client.get(overview("no-such-org"))
    assert foreign.status_code == unknown.status_code == 404
    # Identical but for the per-response CSRF mask.
    assert strip_csrf(foreign.content) == strip_csrf(unknown.content)


def test_suspended_membership_is_refused_with_reason(client, sign_in, org):
    user = MembershipFactory(org=org, role="admin", status=Membership.Status.SUSPENDED).user
    response = sign_in(user).get(overview("acme"))
    assert response.status_code == 403
    assert "Your membership of Acme Corp is suspended" in response.content.decode()


def test_suspended_org_is_closed_to_its_admins_but_not_to_operators(client, sign_in, org, org_admin, operator):
    org.status = Organization.Status.SUSPENDED
    org.save()
    refused = sign_in(org_admin).get(overview("acme"))
    assert refused.status_code == 403
    assert "Acme Corp is suspended" in refused.content.decode()
    allowed = sign_in(operator, Client()).get(overview("acme"))
    assert allowed.status_code == 200


def test_overview_shows_figures_and_recent_activity_to_admins(org_admin_client, org, group):
    MembershipFactory(org=org, status=Membership.Status.INVITED)
    AuditEvent.objects.create(org=org, action="group.created", actor_label="admin@acme.test",
                              target_label="Engineering")
    page = org_admin_client.get(overview("acme")).content.decode()
    assert "Active members" in page
    assert "Invited" in page
    assert "group.created" in page
    assert "Engineering" in page


def test_overview_never_shows_another_orgs_activity(org_admin_client, org, other_org):
    AuditEvent.objects.create(org=other_org, action="group.created", target_label="Globex secret group")
    page = org_admin_client.get(overview("acme")).content.decode()
    assert "Globex secret group" not in page


# ---------------------------------------------------------------- /console/ entry point


def test_console_home_sends_single_org_admin_to_their_org(org_admin_client, org):
    response = org_admin_client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response["Location"] == overview("acme")


def test_console_home_offers_a_switcher_for_several_orgs(client, sign_in, org, other_org):
    user = UserFactory(email="both@example.test")
    MembershipFactory(user=user, org=org, role="admin")
    MembershipFactory(user=user, org=other_org, role="auditor")
    signed_in = sign_in(user)
    page = signed_in.get(reverse("console:home")).content.decode()
    assert "Choose an organization" in page
    assert overview("acme") in page
    assert overview("globex") in page
    # The switcher is on every console page too.
    assert overview("globex") in signed_in.get(overview("acme")).content.decode()


def test_console_home_tells_a_member_plainly_there_is_no_access(client, sign_in, org, org_member):
    response = sign_in(org_member).get(reverse("console:home"))
    assert response.status_code == 403
    assert "You have no console access" in response.content.decode()


def test_console_home_sends_operator_to_platform(operator_client):
    response = operator_client.get(reverse("console:home"))
    assert response["Location"] == reverse("console:platform-orgs")


# ---------------------------------------------------------------- platform pages


PLATFORM_GETS = ["console:platform-orgs", "console:platform-org-create"]


@pytest.mark.parametrize("name", PLATFORM_GETS)
@pytest.mark.parametrize("role", ["owner", "admin", "auditor", "member"])
def test_platform_pages_are_404_for_org_roles(client, sign_in, org, name, role):
    user = MembershipFactory(org=org, role=role).user
    assert sign_in(user).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", ["console:platform-org-suspend", "console:platform-org-reactivate"])
def test_platform_status_changes_are_404_for_org_owners(client, sign_in, org, org_owner, name):
    response = sign_in(org_owner).post(reverse(name, kwargs={"slug": "acme"}))
    assert response.status_code == 404
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE


def test_platform_org_list_shows_every_org(operator_client, org, other_org):
    page = operator_client.get(reverse("console:platform-orgs")).content.decode()
    assert "Acme Corp" in page
    assert "Globex" in page
    assert "Suspend Acme Corp" in page


def test_operator_creates_an_org(operator_client, operator):
    response = operator_client.post(reverse("console:platform-org-create"),
                                    {"name": "Initech", "slug": "Initech"})
    assert response.status_code == 302
    assert response["Location"] == overview("initech")
    org = Organization.objects.get(slug="initech")
    event = AuditEvent.objects.get(action="organization.created")
    assert event.org == org
    assert event.actor == operator
    assert event.metadata == {"slug": "initech", "name": "Initech"}
    assert "Created Initech" in operator_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "Platform", "slug": "platform"}, "slug", "reserved"),
        ({"name": "Bad", "slug": "bad slug!"}, "slug", "lowercase letters"),
        ({"name": "Bad", "slug": "-bad"}, "slug", "lowercase letters"),
        ({"name": "", "slug": "empty-name"}, "name", "required"),
        ({"name": "Dup", "slug": "acme"}, "slug", "already exists"),
        ({"name": "X" * 151, "slug": "long"}, "name", "at most 150"),
    ],
)
def test_org_create_rejects_bad_input_with_field_errors(operator_client, org, data, field, message):
    before = Organization.objects.count()
    response = operator_client.post(reverse("console:platform-org-create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors[field]
    assert Organization.objects.count() == before
    assert not AuditEvent.objects.filter(action="organization.created").exists()


def test_operator_suspends_and_reactivates_an_org(operator_client, operator, org):
    response = operator_client.post(reverse("console:platform-org-suspend", kwargs={"slug": "acme"}),
                                    {"reason": "unpaid invoice", "confirmed": "1"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.status == Organization.Status.SUSPENDED
    suspended = AuditEvent.objects.get(action="organization.suspended")
    assert suspended.actor == operator
    assert suspended.org == org
    assert suspended.metadata == {"before": "active", "after": "suspended", "reason": "unpaid invoice",
                                  "tokens_revoked": 0}
    page = operator_client.get(reverse("console:platform-orgs")).content.decode()
    assert "Reactivate Acme Corp" in page

    operator_client.post(reverse("console:platform-org-reactivate", kwargs={"slug": "acme"}))
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE
    assert AuditEvent.objects.filter(action="organization.reactivated", org=org).count() == 1


def test_suspending_twice_records_once(operator_client, org):
    url = reverse("console:platform-org-suspend", kwargs={"slug": "acme"})
    operator_client.post(url, {"confirmed": "1"})
    operator_client.post(url, {"confirmed": "1"})
    assert AuditEvent.objects.filter(action="organization.suspended").count() == 1


def test_status_change_by_get_changes_nothing(operator_client, org):
    # GET on suspend only asks (orgs/tests/test_confirmations.py); reactivate has no GET.
    response = operator_client.get(reverse("console:platform-org-suspend", kwargs={"slug": "acme"}))
    assert response.status_code == 200
    assert "Suspend the organization Acme Corp?" in response.content.decode()
    assert operator_client.get(reverse("console:platform-org-reactivate", kwargs={"slug": "acme"})).status_code == 405
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE


def test_status_change_of_unknown_org_is_404(operator_client):
    response = operator_client.post(reverse("console:platform-org-suspend", kwargs={"slug": "nope"}))
    assert response.status_code == 404


def test_status_change_with_overlong_reason_is_refused_and_changes_nothing(operator_client, org):
    response = operator_client.post(reverse("console:platform-org-suspend", kwargs={"slug": "acme"}),
                                    {"reason": "x" * 5000, "confirmed": "1"}, follow=True)
    assert "at most 500 characters" in response.content.decode()
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="organization.suspended").exists()

"""The audit log pages: who sees them, tenant isolation, filters, keyset pages, the structured detail view."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.selectors import Cursor
from directory.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def list_url(org=None, /, **query):
    url = reverse("console:audit-list", kwargs={"org_slug": org.slug}) if org else reverse(
        "console:platform-audit-list")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def detail_url(event, org=None):
    if org is None:
        return reverse("console:platform-audit-detail", kwargs={"pk": event.pk})
    return reverse("console:audit-detail", kwargs={"org_slug": org.slug, "pk": event.pk})


def event(org, action="user.invited", *, at=None, actor_label="admin@acme.test", **fields):
    return AuditEvent.objects.create(org=org, action=action, actor_label=actor_label,
                                     created_at=at or T0, **fields)


def shown(response) -> list[AuditEvent]:
    return [e for e, _ in response.context["rows"]]


@pytest.fixture
def acme_event(org):
    return event(org, "membership.suspended", target_type="orgs.membership", target_id="7",
                 target_label="bob@acme.test", ip="203.0.113.9", user_agent="Firefox/140",
                 forwarded_for="203.0.113.9, 10.0.0.2",
                 metadata={"user": "bob@acme.test", "before": "active", "after": "suspended",
                           "reason": "left the company", "tokens_revoked": 3})


@pytest.fixture
def globex_event(other_org):
    return event(other_org, "group.created", actor_label="admin@globex.test", target_label="Globex secret group")


@pytest.fixture
def platform_event(db):
    return event(None, "login.failed", actor_label="", metadata={"email": "nobody@nowhere.test",
                                                                 "reason": "unknown"})


# ---------------------------------------------------------------- who sees what


@pytest.mark.parametrize("role", ["org_owner", "org_admin", "org_auditor"])
def test_console_roles_see_the_log_and_an_event(request, org, sign_in, acme_event, role):
    client = sign_in(request.getfixturevalue(role))
    response = client.get(list_url(org))
    assert response.status_code == 200
    assert shown(response) == [acme_event]
    assert b"membership.suspended" in response.content
    response = client.get(detail_url(acme_event, org))
    assert response.status_code == 200
    assert b"left the company" in response.content


def test_a_plain_member_is_refused(org, sign_in, org_member, acme_event):
    client = sign_in(org_member)
    assert client.get(list_url(org)).status_code == 403
    assert client.get(detail_url(acme_event, org)).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, org):
    response = client.get(list_url(org))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_another_orgs_admin_gets_404_on_the_list_and_the_event(org, other_org_admin_client, acme_event):
    assert other_org_admin_client.get(list_url(org)).status_code == 404
    assert other_org_admin_client.get(detail_url(acme_event, org)).status_code == 404


def test_another_orgs_event_id_is_a_404_under_this_org(org, org_admin_client, globex_event, platform_event):
    # The id exists, but belongs to Globex / the platform: answered exactly as an unknown id.
    assert org_admin_client.get(detail_url(globex_event, org)).status_code == 404
    assert org_admin_client.get(detail_url(platform_event, org)).status_code == 404
    huge = reverse("console:audit-detail", kwargs={"org_slug": org.slug, "pk": 2**70})
    assert org_admin_client.get(huge).status_code == 404


def test_the_org_page_never_shows_other_orgs_or_platform_events(org, org_admin_client, acme_event, globex_event,
                                                                 platform_event):
    response = org_admin_client.get(list_url(org))
    assert shown(response) == [acme_event]
    content = response.content.decode()
    assert "Globex secret group" not in content
    assert "<code>login.failed</code>" not in content
    # Not even through a filter that matches them.
    assert shown(org_admin_client.get(list_url(org, action="login.failed"))) == []
    assert shown(org_admin_client.get(list_url(org, actor="admin@globex"))) == []


def test_the_platform_page_is_for_operators_only(org, sign_in, org_owner, org_admin_client, platform_event):
    assert org_admin_client.get(list_url()).status_code == 404
    assert org_admin_client.get(detail_url(platform_event)).status_code == 404
    assert sign_in(org_owner).get(list_url()).status_code == 404


def test_operator_sees_every_event_and_filters_by_org(operator_client, org, acme_event, globex_event,
                                                      platform_event):
    response = operator_client.get(list_url())
    assert response.status_code == 200
    assert set(shown(response)) == {acme_event, globex_event, platform_event}
    assert b"Platform" in response.content
    assert shown(operator_client.get(list_url(org="-"))) == [platform_event]
    assert shown(operator_client.get(list_url(org="globex"))) == [globex_event]
    response = operator_client.get(list_url(org="no-such-org"))
    assert response.status_code == 200
    assert response.context["form"].errors["org"] == ["There is no organization with this slug."]
    response = operator_client.get(detail_url(platform_event))
    assert response.status_code == 200
    assert b"nobody@nowhere.test" in response.content
    # Operators read org pages too.
    assert operator_client.get(detail_url(acme_event, org)).status_code == 200


def test_sidebar_links_for_those_who_may_see_the_log(org, sign_in, org_auditor, org_member, operator):
    page = sign_in(org_auditor).get(reverse("console:org-overview", kwargs={"org_slug": org.slug}))
    assert list_url(org).encode() in page.content
    assert list_url().encode() not in page.content
    page = sign_in(operator).get(reverse("console:platform-orgs"))
    assert list_url().encode() in page.content


# ---------------------------------------------------------------- filters


@pytest.fixture
def log(org):
    """A small log: different actors, actions, targets, days and addresses."""
    return {
        "invite": event(org, "user.invited", at=T0 - timedelta(days=3), actor_label="Alice@acme.test",
                        target_id="41", target_label="new.hire@acme.test", ip="198.51.100.1"),
        "fail": event(org, "login.failed", at=T0 - timedelta(days=2), actor_label="",
                      target_label="bob@acme.test", ip="2001:db8::1"),
        "ok": event(org, "login.succeeded", at=T0 - timedelta(days=1), actor_label="bob@acme.test",
                    target_label="bob@acme.test", ip="198.51.100.2"),
        "policy": event(org, "password_policy.updated", at=T0, actor_label="alice@acme.test",
                        target_id="5", target_label="Password policy"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["policy", "ok", "fail", "invite"]),
        ({"actor": "alice"}, ["policy", "invite"]),  # prefix, any case
        ({"actor": "lice"}, []),
        ({"action": "login.failed"}, ["fail"]),
        ({"action": "login."}, ["ok", "fail"]),
        ({"action": "login"}, []),  # exact unless it ends with a dot
        ({"action": "Login.Failed"}, ["fail"]),
        ({"target": "bob@"}, ["ok", "fail"]),
        ({"target": "41"}, ["invite"]),
        ({"target": "password"}, ["policy"]),
        ({"ip": "198.51.100.2"}, ["ok"]),
        ({"ip": "2001:0db8:0:0:0:0:0:1"}, ["fail"]),
        ({"date_from": "2026-03-08"}, ["policy", "ok", "fail"]),
        ({"date_to": "2026-03-08"}, ["fail", "invite"]),  # the end day is included
        ({"date_from": "2026-03-08", "date_to": "2026-03-09"}, ["ok", "fail"]),
        ({"actor": "bob", "action": "login."}, ["ok"]),
    ],
)
def test_filters(org, org_admin_client, log, query, expected):
    response = org_admin_client.get(list_url(org, **query))
    assert response.status_code == 200
    assert not response.context["form"].errors
    assert shown(response) == [log[name] for name in expected]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"ip": "not-an-ip"}, "ip"),
        ({"ip": "300.1.1.1"}, "ip"),
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-03-09", "date_to": "2026-03-01"}, "date_to"),
        ({"action": "drop table;"}, "action"),
        ({"action": "x" * 65}, "action"),
        ({"actor": "a" * 255}, "actor"),
        ({"before": "nonsense"}, "before"),
        ({"before": "9" * 30 + "-1"}, "before"),
        ({"before": "999999999999999999-1"}, "before"),  # past year 9999
    ],
)
def test_bad_filters_are_reported_and_not_applied(org, org_admin_client, log, query, field):
    response = org_admin_client.get(list_url(org, **query))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert len(shown(response)) == 4
    assert b'class="field-error"' in response.content


def test_filters_are_kept_on_the_next_page_link(org, org_admin_client):
    for i in range(51):
        event(org, "login.failed", at=T0 + timedelta(seconds=i), ip="198.51.100.7")
    response = org_admin_client.get(list_url(org, action="login.", ip="198.51.100.7", date_from="2026-03-10"))
    query = response.context["next_page_query"]
    assert query.startswith("action=login.&date_from=2026-03-10&ip=198.51.100.7&before=")
    assert len(shown(org_admin_client.get(list_url(org) + "?" + query))) == 1


# ---------------------------------------------------------------- keyset pages and query counts


def test_pages_of_fifty_newest_first_with_ties_on_time(org, org_admin_client):
    # 120 events, many sharing a timestamp: the cursor must break ties by id, never skipping or repeating.
    events = [event(org, "user.invited", at=T0 + timedelta(seconds=i // 7)) for i in range(120)]
    expected = sorted(events, key=lambda e: (e.created_at, e.pk), reverse=True)
    seen, url = [], list_url(org)
    for _ in range(3):
        response = org_admin_client.get(url)
        assert response.status_code == 200
        seen += shown(response)
        if not response.context["next_page_query"]:
            break
        url = list_url(org) + "?" + response.context["next_page_query"]
    assert [e.pk for e in seen] == [e.pk for e in expected]
    assert len(shown(response)) == 20
    assert response.context["is_first_page"] is False
    assert b"Newest" in response.content


def test_cursor_round_trips_exactly():
    at = datetime(2031, 7, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert Cursor.decode(Cursor(created_at=at, pk=42).encode()) == Cursor(created_at=at, pk=42)


def test_bounded_queries_per_page(org, org_admin_client, django_assert_max_num_queries):
    for i in range(130):
        actor = UserFactory(email=f"actor{i}@acme.test") if i % 10 == 0 else None
        event(org, "login.failed" if i % 2 else "user.invited", at=T0 + timedelta(minutes=i), actor=actor,
              actor_label=actor.email if actor else "", ip="198.51.100.3", metadata={"n": i})
    with django_assert_max_num_queries(10):
        first = org_admin_client.get(list_url(org))
    assert len(shown(first)) == 50
    with django_assert_max_num_queries(10):
        filtered = org_admin_client.get(list_url(org, action="login.", date_from="2026-03-10"))
    assert len(shown(filtered)) == 50
    deep_url = list_url(org) + "?" + first.context["next_page_query"]
    deep_url = list_url(org) + "?" + org_admin_client.get(deep_url).context["next_page_query"]
    with django_assert_max_num_queries(10):
        deep = org_admin_client.get(deep_url)
    assert len(shown(deep)) == 30


def test_platform_page_has_bounded_queries(operator_client, org, other_org, django_assert_max_num_queries):
    for i in range(60):
        event([org, other_org, None][i % 3], "user.created", at=T0 + timedelta(minutes=i))
    with django_assert_max_num_queries(8):
        response = operator_client.get(list_url())
    assert len(shown(response)) == 50
    with django_assert_max_num_queries(8):
        response = operator_client.get(list_url(org="acme"))
    assert len(shown(response)) == 20


# ---------------------------------------------------------------- the detail page


def test_detail_shows_who_what_where_and_a_change_table(org, org_admin_client, acme_event):
    response = org_admin_client.get(detail_url(acme_event, org))
    content = response.content.decode()
    for text in ("membership.suspended", "admin@acme.test", "bob@acme.test", "orgs.membership", "#7",
                 "203.0.113.9", "203.0.113.9, 10.0.0.2", "Firefox/140", "10 Mar 2026, 12:00:00 UTC"):
        assert text in content, text
    assert '<dl class="audit-metadata">' in content
    assert "<dt>Tokens revoked <small><code>tokens_revoked</code></small></dt>" in content
    assert '<table class="audit-change">' in content
    assert '<th scope="col">Before</th>' in content
    assert "<td>active</td>" in content
    assert "<td>suspended</td>" in content
    assert "<script" not in content.split("</header>", 1)[1]  # no inline script
    assert " style=" not in content


def test_detail_renders_before_after_objects_and_nested_values(org, org_admin_client):
    policy = event(org, "password_policy.updated", metadata={
        "before": {"min_length": 10, "check_common": True, "max_age_days": None},
        "after": {"min_length": 12, "check_common": True, "max_age_days": 90},
        "scopes": ["openid", "email"],
        "revoked": {"access": 2, "refresh": {"families": [1, 2]}},
        "note": "",
        "markup": "<b>bold</b>",
    })
    content = org_admin_client.get(detail_url(policy, org)).content.decode()
    assert '<th scope="col">Field</th>' in content
    assert "Min length <small>(changed)</small>" in content
    assert "Check common</th>" in content  # unchanged: no "(changed)" mark
    assert "<td>10</td>" in content
    assert "<td>12</td>" in content
    assert "<em>none</em>" in content  # max_age_days was unset
    assert "<li>openid</li>" in content
    assert "<li>email</li>" in content
    assert content.count('<dl class="audit-metadata">') == 3  # top level, revoked, refresh
    assert "<em>empty</em>" in content
    assert "<b>bold</b>" not in content
    assert "&lt;b&gt;bold&lt;/b&gt;" in content


def test_detail_of_an_event_without_metadata_or_actor(org, org_admin_client):
    deleted_actor = event(org, "group.created", actor_label="gone@acme.test", metadata={})
    content = org_admin_client.get(detail_url(deleted_actor, org)).content.decode()
    assert "No details were recorded with this event." in content
    assert "(account since deleted)" in content
    system = event(org, "invitation.resent", actor_label="", metadata={"deep": [[[[[[[["x"]]]]]]]]})
    response = org_admin_client.get(detail_url(system, org))
    assert response.status_code == 200
    assert b"<em>system</em>" in response.content

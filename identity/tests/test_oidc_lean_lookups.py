"""The statements written once (identity.oidc.lean_sql and its users) read what the ORM read.

- the userinfo token lookup (lean_userinfo.access_token_load) against the validator's
  _load_access_token: same rows, same related client, org and user, for tokens with and without a
  user or client, and unknown ones;
- the access rule's membership query (access.py, its SQL built once by config.compiled_queries) against
  the ORM query it replaced, for members, suspended and invited members, non-members, group-limited apps.
"""

import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from applications import token_policy
from applications.models import Application, AppRole
from directory.models import Group, GroupMembership
from identity.oidc import access, lean_userinfo
from identity.oidc.lean_userinfo import access_token_load
from identity.oidc.validator import GatehouseValidator
from identity.tests.oidc_support import make_machine_app, make_web_app
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def as_dict(instance) -> dict | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def mint(**fields) -> str:
    value = secrets.token_urlsafe(30)
    get_access_token_model().objects.create(token=value, scope="openid profile",
                                            expires=timezone.now() + timedelta(hours=1), **fields)
    return value


@pytest.mark.parametrize("shape", ["user_and_client", "client_only", "neither", "unknown"])
def test_the_userinfo_lookup_reads_what_the_validator_reads(org, org_member, shape):
    web = Application.objects.get(client_id=make_web_app(org).client_id)
    machine = Application.objects.get(client_id=make_machine_app(org).client_id)
    group = Group.objects.create(org=org, name="Engineering", slug="engineering")
    group.memberships.create(user=org_member)
    AppRole.objects.create(application=web, key="app:admin").groups.add(group)
    value = {
        "user_and_client": lambda: mint(user=org_member, application=web),
        "client_only": lambda: mint(application=machine),
        "neither": lambda: mint(),
        "unknown": lambda: "no-such-token",
    }[shape]()
    loaded, theirs = access_token_load(value), GatehouseValidator()._load_access_token(value)
    if theirs is None:
        assert loaded is None
        return
    mine = loaded.token
    # The columns userinfo reads are loaded; the rest deferred (a query each if ever read) and,
    # once read, the same as the validator's.
    for instance, loaded_fields in ((mine, lean_userinfo._TOKEN), (mine.user, lean_userinfo._USER),
                                    (mine.application, lean_userinfo._APP)):
        if instance is not None:
            assert {f.attname for f in instance._meta.concrete_fields} - instance.get_deferred_fields() \
                == set(loaded_fields)
    assert as_dict(mine) == as_dict(theirs)
    assert as_dict(mine.user) == as_dict(theirs.user)
    assert as_dict(mine.application) == as_dict(theirs.application)
    if theirs.application is not None:
        assert as_dict(mine.application.org) == as_dict(theirs.application.org)
    if connection.vendor != "postgresql":
        assert loaded.groups_and_roles is None  # the claims read them with a query of their own
    elif theirs.user is None or theirs.application is None:
        assert loaded.groups_and_roles == ([], [])
    else:
        assert loaded.groups_and_roles == (["engineering"], ["app:admin"] if theirs.application == web else [])


def orm_membership(user, application):
    """The access rule's query as the ORM ran it before it was compiled once."""
    limits = Application.allowed_groups.through.objects.filter(application=application)
    membership = (
        Membership.objects.filter(user=user, org=application.org).only("status")
        .annotate(app_limited=Exists(limits),
                  in_allowed_group=Exists(GroupMembership.objects.filter(user=user,
                                                                         group__in=limits.values("group_id"))))
        .first()
    )
    return None if membership is None else (membership.status, membership.app_limited, membership.in_allowed_group)


@pytest.mark.parametrize("case", ["member", "suspended", "invited", "outsider", "limited_out", "limited_in"])
def test_the_compiled_membership_query_answers_as_the_orm(org, org_member, other_org_admin, case):
    app = Application.objects.get(client_id=make_web_app(org).client_id)
    user = other_org_admin if case == "outsider" else org_member
    if case in ("suspended", "invited"):
        Membership.objects.filter(user=org_member, org=org).update(status=case)
    if case.startswith("limited"):
        allowed = Group.objects.create(org=org, name="Allowed", slug="allowed")
        app.allowed_groups.add(allowed)
        if case == "limited_in":
            allowed.memberships.create(user=org_member)
    rows = access._MEMBERSHIP_ACCESS(user.pk, org.pk, app.pk)
    assert access._MEMBERSHIP_ACCESS.replayed()
    expected = orm_membership(user, app)
    assert (tuple((status, bool(limited), bool(in_group)) for status, limited, in_group in rows)
            == ((expected,) if expected else ()))
    decision = access.application_access(user=user, application=app)
    assert decision.allowed is (case in ("member", "limited_in"))
    # The same three values as columns of another statement (lean_refresh's lookup).
    q = connection.ops.quote_name
    sql = (f"SELECT {access.membership_columns_sql(connection.alias, client='a', user_id='%s')} "
           f"FROM {q(Application._meta.db_table)} a WHERE a.{q('id')} = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, user.pk, app.pk])  # the user id appears twice in the columns
        status, limited, in_group = cursor.fetchone()
    assert (status, bool(limited), bool(in_group)) == (expected or (None, case.startswith("limited"),
                                                                    case == "limited_in"))
    assert token_policy.access_decision(user=user, application=app,
                                  membership=token_policy.MembershipRow(status, limited, in_group)) == decision


def test_the_refusal_message_names_the_membership_status(org, org_member):
    app = Application.objects.get(client_id=make_web_app(org).client_id)
    Membership.objects.filter(user=org_member, org=org).update(status=Membership.Status.SUSPENDED)
    decision = access.application_access(user=org_member, application=app)
    assert decision.reason == "membership_suspended"
    assert "is suspended" in decision.message

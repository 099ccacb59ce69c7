"""CompiledQuery gives what the ORM gives, from SQL built once; what it cannot replay exactly, the ORM builds."""

import logging
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.compiled_queries import CompiledQuery
from directory.models import User
from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession
from orgs.models import Membership

pytestmark = pytest.mark.django_db

STAND_IN_ID = -9101
STAND_IN_EMAIL = "stand-in@gatehouse.invalid"


def _fields(obj) -> dict:
    return {key: value for key, value in vars(obj).items() if key != "_state"}


def test_model_instances_equal_the_orms_with_select_related_and_annotations():
    user = UserFactory()
    first, second = MembershipFactory(user=user), MembershipFactory(user=user)
    query = CompiledQuery(lambda user_id: Membership.objects.filter(user_id=user_id).select_related("org")
                          .annotate(other=Count("org__memberships")).order_by("org_id"), STAND_IN_ID)

    got = query(user.pk)

    assert query.replayed()
    wanted = list(Membership.objects.filter(user_id=user.pk).select_related("org")
                  .annotate(other=Count("org__memberships")).order_by("org_id"))
    assert sorted(m.pk for m in got) == sorted([first.pk, second.pk])
    for ours, theirs in zip(got, wanted, strict=True):
        assert _fields(ours) == _fields(theirs)
        assert _fields(ours.org) == _fields(theirs.org)  # select_related: read with the row, no query
        assert ours.other == theirs.other == 1
        assert not ours._state.adding
        assert ours._state.db == "default"


def test_each_call_runs_one_statement_with_its_own_values():
    alice, bob = UserFactory(email="alice@example.test"), UserFactory(email="bob@example.test")
    query = CompiledQuery(lambda email: User.objects.filter(email=email).order_by("pk")[:1], STAND_IN_EMAIL)
    assert query.first("alice@example.test").pk == alice.pk

    with CaptureQueriesContext(connection) as queries:
        assert query.first("bob@example.test").pk == bob.pk
        assert query.first("nobody@example.test") is None

    assert query.replayed()
    assert len(queries) == 2  # counted, logged and wrapped as every statement is
    assert "bob@example.test" in queries[0]["sql"].lower()


def test_values_list_and_flat_values_with_converted_columns():
    user = UserFactory()
    now = timezone.now()
    session = UserSession.objects.create(user=user, amr=["pwd", "otp"], ip="192.0.2.7", expires_at=now + timedelta(1))
    rows = CompiledQuery(lambda sid: UserSession.objects.filter(sid=sid).values_list("amr", "expires_at", "ip"),
                         "stand-in-sid")
    flat = CompiledQuery(lambda user_id: UserSession.objects.filter(user_id=user_id).values_list("amr", flat=True),
                         STAND_IN_ID)

    assert rows(session.sid) == [(["pwd", "otp"], session.expires_at, "192.0.2.7")]
    assert rows(session.sid) == list(UserSession.objects.filter(sid=session.sid).values_list("amr", "expires_at", "ip"))
    assert flat(user.pk) == [["pwd", "otp"]]
    assert rows.replayed()
    assert flat.replayed()


def test_values_dicts_across_a_join():
    org = OrganizationFactory(name="Acme")
    user = UserFactory()
    MembershipFactory(user=user, org=org, role="admin")
    query = CompiledQuery(lambda user_id: Membership.objects.filter(user_id=user_id).values("role", "org__name"),
                          STAND_IN_ID)

    assert query(user.pk) == [{"role": "admin", "org__name": "Acme"}]
    assert query(user.pk) == list(Membership.objects.filter(user_id=user.pk).values("role", "org__name"))
    assert query.replayed()


def test_a_uuid_stand_in_and_an_exists_annotation():
    user = UserFactory()
    MembershipFactory(user=user)
    query = CompiledQuery(lambda public_id: User.objects.filter(public_id=public_id).annotate(
        member=Exists(Membership.objects.filter(user=OuterRef("pk")))).values_list("pk", "member"),
        uuid.UUID(int=1))

    assert query(user.public_id) == [(user.pk, True)]
    assert query(uuid.uuid4()) == []
    assert query.replayed()


def test_a_stand_in_the_orm_transforms_is_not_replayed_but_answers_right(caplog):
    caplog.set_level(logging.INFO, logger="config.compiled_queries")
    UserFactory(email="carol@example.test")
    query = CompiledQuery(lambda part: User.objects.filter(email__icontains=part).values_list("email", flat=True),
                          "stand-in")

    assert query("carol") == ["carol@example.test"]
    assert query("dave") == []
    assert not query.replayed()
    assert "cannot be replayed" in caplog.text


def test_what_like_would_take_as_a_wildcard_matches_only_itself():
    """SQLite's iexact is a LIKE whose value the ORM escapes: replaying it unescaped would let `_` match any
    character. The check with escapable stand-ins sees that and leaves it to the ORM; PostgreSQL's UPPER() = UPPER()
    takes the value as it is and is replayed. Either way the answer is the ORM's."""
    underscore = UserFactory(email="first_last@example.test")
    UserFactory(email="firstXlast@example.test")
    query = CompiledQuery(lambda email: User.objects.filter(email__iexact=email).order_by("pk")[:1], STAND_IN_EMAIL)

    assert query.first("FIRST_LAST@example.test").pk == underscore.pk
    assert query.first("first%@example.test") is None
    assert query.replayed() is (connection.vendor == "postgresql")


def test_a_query_that_reads_the_clock_is_not_frozen():
    user = UserFactory()
    ends_soon = timezone.now() + timedelta(seconds=2)
    UserSession.objects.create(user=user, expires_at=ends_soon)
    query = CompiledQuery(lambda user_id: UserSession.objects.filter(user_id=user_id, expires_at__gt=timezone.now())
                          .values_list("pk", flat=True), STAND_IN_ID)

    assert len(query(user.pk)) == 1
    assert not query.replayed()  # the two builds' parameters differed: the clock's value would be frozen


def test_a_value_of_another_type_gets_the_orms_conversions():
    user = UserFactory()
    query = CompiledQuery(lambda user_id: User.objects.filter(pk=user_id).values_list("email", flat=True), STAND_IN_ID)
    assert query(user.pk) == [user.email]

    assert query(str(user.pk)) == [user.email]  # the ORM turns "12" into 12, as it always did
    assert query(None) == []
    with pytest.raises(ValueError, match="expected a number"):
        query("twelve")


def test_a_missing_argument_is_refused():
    query = CompiledQuery(lambda user_id: User.objects.filter(pk=user_id), STAND_IN_ID)
    with pytest.raises(TypeError, match="1 values expected, 0 given"):
        query()


def test_an_org_filter_keeps_other_orgs_rows_out():
    mine, other = OrganizationFactory(), OrganizationFactory()
    user = UserFactory()
    MembershipFactory(user=user, org=mine)
    MembershipFactory(user=user, org=other)
    query = CompiledQuery(lambda user_id, org_id: Membership.objects.filter(user_id=user_id, org_id=org_id)
                          .values_list("org_id", flat=True), STAND_IN_ID, STAND_IN_ID - 1)

    assert query(user.pk, mine.pk) == [mine.pk]
    assert query(user.pk, other.pk) == [other.pk]


def test_a_nul_in_a_string_value_finds_nothing_and_postgresql_is_not_asked():
    """PostgreSQL refuses to compare a NUL (the ORM would raise DataError), and stores none in text."""
    UserFactory(email="alice@example.test")
    query = CompiledQuery(lambda email: User.objects.filter(email=email).order_by("pk")[:1], STAND_IN_EMAIL)
    assert query.first("alice@example.test").email == "alice@example.test"

    with CaptureQueriesContext(connection) as queries:
        assert query("alice@example.test\x00") == []
        assert query.first("\x00") is None

    assert len(queries) == (0 if connection.vendor == "postgresql" else 2)

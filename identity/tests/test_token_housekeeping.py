"""Token housekeeping: which rows a prune deletes and which it keeps, batching, the command, the beat entry."""

import base64
import logging
import re
import secrets
import uuid
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications.models import Application, AuthorizationRecord
from applications.services import application_create
from audit.models import AuditEvent
from directory.tests.factories import UserFactory
from identity.models import UserSession
from identity.tests.oidc_support import make_web_app
from identity.tests.test_oidc_queries import mint_refresh_token
from identity.token_housekeeping import UNREDEEMED_RECORD_MARGIN, tokens_prune

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()
Grant = get_grant_model()

DAY = timedelta(days=1)
REFRESH_LIFETIME = timedelta(days=30)  # config/settings.py's default REFRESH_TOKEN_EXPIRE_SECONDS


@pytest.fixture
def now() -> datetime:
    return timezone.now()


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def app(org) -> Application:
    return application_create(org=org, name="Portal", kind="web", redirect_uris=["https://x.example/cb"]).application


def access(app, user, *, expires: datetime, id_token=None):
    return AccessToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(30), expires=expires,
                                      scope="openid", id_token=id_token)


def refresh(app, user, *, access_token=None, family=None, revoked: datetime | None = None,
            created: datetime | None = None):
    row = RefreshToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(30),
                                      access_token=access_token, token_family=family or uuid.uuid4(), revoked=revoked)
    if created is not None:  # `created` is auto_now_add
        RefreshToken.objects.filter(pk=row.pk).update(created=created)
    return row


def id_token(app, user, *, expires: datetime):
    return IDToken.objects.create(user=user, application=app, expires=expires, scope="openid")


def pks(model, rows) -> set[int]:
    """Which of `rows` are still in the database."""
    return set(model.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True))


def test_access_tokens_go_once_expired_unless_a_live_refresh_token_holds_them(app, user, now):
    just_expired = access(app, user, expires=now - timedelta(seconds=1))
    just_alive = access(app, user, expires=now + timedelta(minutes=1))
    held = access(app, user, expires=now - DAY)  # a refresh token's idle lifetime counts from this expiry
    holder = refresh(app, user, access_token=held)

    result = tokens_prune()

    assert pks(AccessToken, [just_expired, just_alive, held]) == {just_alive.pk, held.pk}
    assert pks(RefreshToken, [holder]) == {holder.pk}
    assert result.deleted == {"access_tokens": 1, "refresh_tokens": 0, "id_tokens": 0, "grants": 0,
                              "authorization_records": 0}


def test_refresh_tokens_go_after_their_lifetime_as_the_validator_counts_it(client, org, org_member, now):
    web = make_web_app(org)
    default_app = Application.objects.get(client_id=web.client_id)
    idle_deadline = now - REFRESH_LIFETIME  # an access token that expired then leaves its refresh token dead now
    idle_over = refresh(default_app, org_member,
                        access_token=access(default_app, org_member, expires=idle_deadline - timedelta(seconds=1)))
    idle_within = refresh(default_app, org_member,
                          access_token=access(default_app, org_member, expires=idle_deadline + timedelta(minutes=1)))
    orphan = refresh(default_app, org_member)  # its access token deleted out of band: refused at /token
    # An app's own lifetime counts from the refresh token's issue and may exceed the deployment's:
    # DOT's clear_expired() would delete `long_lived_within` (its access token expired 31 days ago).
    long_web = make_web_app(org, client_id="long-rp", refresh_token_lifetime=int((90 * DAY).total_seconds()))
    long_app = Application.objects.get(client_id="long-rp")
    long_lived_within = mint_refresh_token(org_member, long_app)
    RefreshToken.objects.filter(token=long_lived_within).update(created=now - 31 * DAY)
    AccessToken.objects.filter(refresh_token__token=long_lived_within).update(expires=now - 31 * DAY)
    long_lived_over = refresh(long_app, org_member, access_token=access(long_app, org_member, expires=now),
                              created=now - 90 * DAY - timedelta(seconds=1))

    result = tokens_prune()

    kept = RefreshToken.objects.get(token=long_lived_within)
    assert pks(RefreshToken, [idle_over, idle_within, orphan, long_lived_over, kept]) == {idle_within.pk, kept.pk}
    # A deleted refresh token's access token goes with it in the same run.
    assert not AccessToken.objects.filter(pk=idle_over.access_token_id).exists()
    assert AccessToken.objects.filter(pk=idle_within.access_token_id).exists()
    assert result.deleted["refresh_tokens"] == 3
    # The long-lived one still works: the prune kept exactly what the token endpoint still honours.
    response = client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": long_lived_within},
                           HTTP_AUTHORIZATION="Basic " + base64.b64encode(
                               f"long-rp:{long_web.client_secret}".encode()).decode())
    assert response.status_code == 200, response.content


def test_revoked_refresh_tokens_stay_while_reuse_detection_needs_them(app, user, now):
    in_use = uuid.uuid4()
    newest = refresh(app, user, family=in_use, access_token=access(app, user, expires=now + timedelta(hours=1)))
    rotated_yesterday = refresh(app, user, family=in_use, revoked=now - DAY)
    rotated_long_ago = refresh(app, user, family=in_use, revoked=now - REFRESH_LIFETIME - timedelta(seconds=1))
    # Families with no unrevoked member left (signed out, revoked, or their newest expired).
    ended_a_minute_ago = refresh(app, user, revoked=now - timedelta(minutes=1))
    ended_inside_grace = refresh(app, user, revoked=now - timedelta(seconds=2))  # REFRESH_TOKEN_GRACE_PERIOD: 10 s
    without_family = RefreshToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(30),
                                                 revoked=now - timedelta(minutes=1))
    expires_with_family = uuid.uuid4()
    expired_newest = refresh(app, user, family=expires_with_family,
                             access_token=access(app, user, expires=now - REFRESH_LIFETIME - DAY))
    rotated_before_it = refresh(app, user, family=expires_with_family, revoked=now - DAY)

    result = tokens_prune()

    rows = [newest, rotated_yesterday, rotated_long_ago, ended_a_minute_ago, ended_inside_grace, without_family,
            expired_newest, rotated_before_it]
    assert pks(RefreshToken, rows) == {newest.pk, rotated_yesterday.pk, ended_inside_grace.pk}
    assert result.deleted["refresh_tokens"] == 5


def test_without_reuse_protection_revoked_tokens_go_after_the_grace_period(app, user, now, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_REUSE_PROTECTION": False}
    family = uuid.uuid4()
    refresh(app, user, family=family, access_token=access(app, user, expires=now + timedelta(hours=1)))
    past_grace = refresh(app, user, family=family, revoked=now - timedelta(seconds=11))
    inside_grace = refresh(app, user, family=family, revoked=now - timedelta(seconds=2))

    tokens_prune()

    assert pks(RefreshToken, [past_grace, inside_grace]) == {inside_grace.pk}


def test_id_tokens_go_once_expired_and_no_access_token_carries_them(app, user, now):
    expired = id_token(app, user, expires=now - timedelta(seconds=1))
    alive = id_token(app, user, expires=now + timedelta(minutes=1))
    carried = id_token(app, user, expires=now - DAY)
    refresh(app, user, access_token=access(app, user, expires=now - DAY, id_token=carried))
    # Its access token expires unheld, so both go in one run (access tokens are pruned first).
    freed = id_token(app, user, expires=now - DAY)
    access(app, user, expires=now - DAY, id_token=freed)

    result = tokens_prune()

    assert pks(IDToken, [expired, alive, carried, freed]) == {alive.pk, carried.pk}
    assert (result.deleted["id_tokens"], result.deleted["access_tokens"]) == (2, 1)


def test_grants_go_once_expired(app, user, now):
    def grant(expires):
        return Grant.objects.create(user=user, application=app, code=secrets.token_urlsafe(30), expires=expires,
                                    redirect_uri="https://x.example/cb", scope="openid",
                                    code_challenge="x" * 43, code_challenge_method="S256")

    just_expired, just_alive = grant(now - timedelta(seconds=1)), grant(now + timedelta(seconds=30))

    assert tokens_prune().deleted["grants"] == 1
    assert pks(Grant, [just_expired, just_alive]) == {just_alive.pk}


def test_authorization_records_go_when_no_code_family_or_session_needs_them(app, user, now):
    def record(*, created_at, redeemed=True, family=None, sid=""):
        return AuthorizationRecord.objects.create(
            code_checksum=secrets.token_hex(32), application=app, user=user, sid=sid, amr=["pwd"], auth_time=created_at,
            token_family=family, created_at=created_at, redeemed_at=created_at if redeemed else None)

    code_gone = now - timedelta(seconds=60) - UNREDEEMED_RECORD_MARGIN  # AUTHORIZATION_CODE_EXPIRE_SECONDS: 60
    unredeemed_over = record(created_at=code_gone - timedelta(seconds=1), redeemed=False)
    unredeemed_within = record(created_at=code_gone + timedelta(minutes=1), redeemed=False)
    family = uuid.uuid4()
    refresh(app, user, family=family, access_token=access(app, user, expires=now + timedelta(hours=1)))
    family_in_use = record(created_at=now - DAY, family=family)
    family_gone = record(created_at=now - DAY, family=uuid.uuid4())
    live = UserSession.objects.create(user=user, expires_at=now + timedelta(hours=1))
    ended = UserSession.objects.create(user=user, expires_at=now + timedelta(hours=1), ended_at=now,
                                       end_reason=UserSession.EndReason.LOGOUT)
    session_live = record(created_at=now - DAY, family=uuid.uuid4(), sid=live.sid)  # back-channel logout reads it
    session_ended = record(created_at=now - DAY, family=uuid.uuid4(), sid=ended.sid)
    # Its family's last row is a spent revoked token: both go in one run (refresh tokens first).
    spent_family = uuid.uuid4()
    refresh(app, user, family=spent_family, revoked=now - timedelta(minutes=1))
    family_spent = record(created_at=now - DAY, family=spent_family)

    result = tokens_prune()

    rows = [unredeemed_over, unredeemed_within, family_in_use, family_gone, session_live, session_ended, family_spent]
    assert pks(AuthorizationRecord, rows) == {unredeemed_within.pk, family_in_use.pk, session_live.pk}
    assert (result.deleted["authorization_records"], result.deleted["refresh_tokens"]) == (4, 1)


def test_rows_go_in_batches_and_live_ones_stay(app, user, now):
    expired = [access(app, user, expires=now - timedelta(minutes=i + 1)) for i in range(10)]
    live = [access(app, user, expires=now + timedelta(hours=1)) for _ in range(4)]

    with CaptureQueriesContext(connection) as queries:
        result = tokens_prune(batch_size=3)

    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "oauth2_provider_accesstoken"')]
    assert len(deletes) == 4  # 3 + 3 + 3 + 1
    assert result.deleted["access_tokens"] == 10
    assert result.unfinished == []
    assert pks(AccessToken, expired + live) == {row.pk for row in live}


def test_a_run_stops_at_its_cap_logs_it_and_the_next_run_goes_on(app, user, now, caplog):
    expired = [access(app, user, expires=now - timedelta(minutes=1)) for _ in range(10)]
    live = access(app, user, expires=now + timedelta(hours=1))

    with caplog.at_level(logging.INFO, logger="identity.token_housekeeping"):
        first = tokens_prune(batch_size=3, max_batches=2)

    assert first.deleted["access_tokens"] == 6
    assert first.unfinished == ["expired access tokens"]
    assert AccessToken.objects.filter(pk__in=[row.pk for row in expired]).count() == 4
    [line] = [r.getMessage() for r in caplog.records if r.name == "identity.token_housekeeping"]
    assert line.startswith("Token housekeeping deleted 6 access_tokens, 0 refresh_tokens, 0 id_tokens, 0 grants, "
                           "0 authorization_records in ")
    assert line.endswith("; the cap of 2 x 3 rows stopped: expired access tokens (next run goes on)")

    second = tokens_prune(batch_size=3, max_batches=2)

    assert (second.deleted["access_tokens"], second.unfinished) == (4, [])
    assert pks(AccessToken, [*expired, live]) == {live.pk}


def test_the_command_prints_what_it_deleted(app, user, now):
    for _ in range(3):
        access(app, user, expires=now - timedelta(minutes=1))
    id_token(app, user, expires=now - timedelta(minutes=1))
    out = StringIO()

    call_command("tokens_prune", "--batch", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert [re.sub(r"\s+", " ", line) for line in lines[:5]] == [
        "access_tokens 3 deleted", "refresh_tokens 0 deleted", "id_tokens 1 deleted", "grants 0 deleted",
        "authorization_records 0 deleted",
    ]
    assert re.fullmatch(r"total\s+4 deleted in \d+\.\d s", lines[5])
    assert len(lines) == 6
    assert not AccessToken.objects.filter(expires__lte=now).exists()


def test_the_command_says_when_more_remain(app, user, now):
    for _ in range(3):
        access(app, user, expires=now - timedelta(minutes=1))
    out = StringIO()

    call_command("tokens_prune", "--batch", "2", "--max-batches", "1", stdout=out)

    assert out.getvalue().splitlines()[-1] == "More remain (expired access tokens): run it again to go on."
    assert AccessToken.objects.count() == 1


def test_the_command_refuses_a_batch_below_one():
    with pytest.raises(CommandError, match="--batch must be at least 1."):
        call_command("tokens_prune", "--batch", "0")


def test_the_beat_runs_the_prune_every_ten_minutes(app, user, now):
    from config.celery import app as celery_app

    celery_app.loader.import_default_modules()  # registers the tasks, as a worker does at start
    entry = celery_app.conf.beat_schedule["identity.tokens_prune"]
    assert (entry["task"], entry["schedule"]) == ("identity.tasks.tokens_prune", 600.0)
    expired = access(app, user, expires=now - timedelta(minutes=1))

    counts = celery_app.tasks[entry["task"]].apply().get()

    assert counts["access_tokens"] == 1
    assert not AccessToken.objects.filter(pk=expired.pk).exists()


def test_reuse_detection_still_revokes_the_family_after_a_prune(client, org, org_member, now):
    web = make_web_app(org)
    app = Application.objects.get(client_id=web.client_id)
    basic = "Basic " + base64.b64encode(f"{web.client_id}:{web.client_secret}".encode()).decode()

    def post_refresh(token):
        return client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": token},
                           HTTP_AUTHORIZATION=basic)

    stolen = mint_refresh_token(org_member, app)
    successor = post_refresh(stolen).json()["refresh_token"]
    RefreshToken.objects.filter(revoked__isnull=False).update(revoked=now - timedelta(minutes=5))  # past grace
    ended_family = refresh(app, org_member, revoked=now - timedelta(minutes=5))  # something for the prune to do

    result = tokens_prune()

    assert result.deleted["refresh_tokens"] == 1
    assert not RefreshToken.objects.filter(pk=ended_family.pk).exists()
    replay = post_refresh(stolen)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(action="token.refresh_reused").count() == 1
    assert RefreshToken.objects.get(token=successor).revoked is not None
    assert post_refresh(successor).json()["error"] == "invalid_grant"

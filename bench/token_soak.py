"""Token table soak: a million client-credentials tokens in, expired, pruned as the beat prunes; table sizes throughout.

    nice -n 10 .venv/bin/python bench/token_soak.py                      # 1,000,000 tokens, two waves
    nice -n 10 .venv/bin/python bench/token_soak.py --tokens 200000 --waves 1 --json /tmp/soak.json

What it does (bench/README.md has the why): (re)creates the PostgreSQL database `gatehouse_soak`, migrates it
and runs seed_demo --force (bench/oidc.py's helpers, loaded by path), then in this process:
  1. adds rows that must survive every prune: --live client-credentials tokens valid for a day, and
     --code-flows sign-ins (access + refresh + ID token + authorization record, one rotated refresh token
     each) of which half are alive and half long dead, plus as many expired grants;
  2. sends --sample real client-credentials requests for the seeded `acme-reports` machine through the
     token endpoint (Django's test client, whole middleware stack) to check what one stored token row is;
  3. per wave: INSERTs --tokens rows shaped like those (30-character opaque token, its SHA-256 checksum,
     the sample's application, scope and resource; no user) in chunks, expiring --lifetime seconds later;
     waits until they have expired; runs identity.token_housekeeping.tokens_prune() with the deployment's
     settings until a run finishes (each run is what one beat tick does); then a plain VACUUM (what
     autovacuum does on its own);
  4. at the end, VACUUM FULL (which locks the table) to show what space goes back to the operating system.
Rows, heap and total relation size (pg_total_relation_size: heap + indexes + TOAST) of the token tables
are printed at each step, with the prune runs; --json also writes them. Exits 1 if a live row was deleted
or an expired one was left. Not collected by pytest, never run in CI.
"""

import sys
from pathlib import Path

# Run as `python bench/<name>.py`, bench/ comes first on sys.path, where a benchmark's module may
# shadow the standard library (bench/email.py shadows `email`, which urllib and Django import).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import base64  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import timedelta  # noqa: E402

ROOT = _HERE.parent
TABLES = {  # label -> table
    "access tokens": "oauth2_provider_accesstoken",
    "refresh tokens": "oauth2_provider_refreshtoken",
    "ID tokens": "oauth2_provider_idtoken",
    "grants": "oauth2_provider_grant",
    "authorization records": "applications_authorizationrecord",
}
MACHINE = ("acme-reports", "acme-reports-secret")
CODE_FLOW_CLIENT, CODE_FLOW_USER = "hr-portal", "bob@acme.test"


def _oidc_bench():
    """bench/oidc.py's setup helpers (psql, server_env, manage), loaded by path: bench/ is not a package."""
    spec = importlib.util.spec_from_file_location("bench_oidc", _HERE / "oidc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oidc = _oidc_bench()
log = oidc.log


def prepare(database: str, lifetime: int) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="gatehouse-soak-")) / "var"
    (var_dir / "static").mkdir(parents=True)  # whitenoise warns about a missing STATIC_ROOT otherwise
    env = oidc.server_env(database, 8000, var_dir)
    env.update({
        # Redis databases of their own, so a concurrent bench/oidc.py run (2 and 3) is not disturbed.
        "REDIS_URL": "redis://127.0.0.1:6379/6", "CELERY_BROKER_URL": "memory://",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        # The sample's tokens expire as fast as the bulk ones (the machine sets no lifetime of its own).
        "GATEHOUSE_ACCESS_TOKEN_SECONDS": str(lifetime),
    })
    log(f"Creating database {database} (dropping any previous one); migrate; seed_demo --force")
    oidc.psql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    oidc.psql("postgres", f'CREATE DATABASE "{database}"')
    oidc.manage(env, "migrate", "--noinput", "-v", "0")
    oidc.manage(env, "seed_demo", "--force")
    return env


def sizes(cursor) -> dict:
    out = {}
    for label, table in TABLES.items():
        cursor.execute(f"SELECT count(*), pg_relation_size('{table}'), pg_total_relation_size('{table}') "  # noqa: S608
                       f"FROM {table}")
        rows, heap, total = cursor.fetchone()
        out[label] = {"rows": rows, "heap_bytes": heap, "total_bytes": total}
    # Where the access token table's space is: its indexes, one by one.
    cursor.execute("SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
                   "WHERE relname = 'oauth2_provider_accesstoken' ORDER BY indexrelname")
    out["access tokens"]["index_bytes"] = dict(cursor.fetchall())
    return out


def mb(value: int) -> str:
    return f"{value / 1024 / 1024:,.1f}"


def render(snapshots: list[tuple[str, dict]]) -> str:
    lines = ["| step | " + " | ".join(f"{label}: rows / total MB" for label in TABLES) + " | all tables MB |",
             "|---|" + "---:|" * (len(TABLES) + 1)]
    for step, snap in snapshots:
        cells = [f"{snap[label]['rows']:,} / {mb(snap[label]['total_bytes'])}" for label in TABLES]
        total = sum(s["total_bytes"] for s in snap.values())
        lines.append(f"| {step} | " + " | ".join(cells) + f" | {mb(total)} |")
    return "\n".join(lines)


def add_survivors_and_dead_code_flows(live: int, code_flows: int) -> dict:
    """Rows that a prune must keep (and some it must delete) beside the client-credentials flood."""
    from django.db import transaction
    from django.utils import timezone
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    from applications.models import Application, AuthorizationRecord
    from directory.models import User
    from identity.oidc.access_tokens import token_value

    access_model, refresh_model = get_access_token_model(), get_refresh_token_model()
    id_model, grant_model = get_id_token_model(), get_grant_model()
    now = timezone.now()
    machine = Application.objects.get(client_id=MACHINE[0])
    web = Application.objects.get(client_id=CODE_FLOW_CLIENT)
    bob = User.objects.get(email__iexact=CODE_FLOW_USER)
    with transaction.atomic():
        access_model.objects.bulk_create(
            (access_model(application=machine, token=token_value(), expires=now + timedelta(days=1), scope="")
             for _ in range(live)), batch_size=5000)
        alive = [i % 2 == 0 for i in range(code_flows)]
        expires = [now + timedelta(hours=1) if a else now - timedelta(days=31) for a in alive]
        ids = id_model.objects.bulk_create(
            [id_model(user=bob, application=web, expires=e, scope="openid", jti=uuid.uuid4()) for e in expires],
            batch_size=5000)
        accesses = access_model.objects.bulk_create(
            [access_model(user=bob, application=web, token=token_value(), expires=e, scope="openid", id_token=i)
             for e, i in zip(expires, ids, strict=True)], batch_size=5000)
        families = [uuid.uuid4() for _ in range(code_flows)]
        refresh_model.objects.bulk_create(
            [refresh_model(user=bob, application=web, token=token_value(), access_token=a, token_family=f)
             for a, f in zip(accesses, families, strict=True)], batch_size=5000)
        # One rotated-away token per family, revoked yesterday: kept while its family lives (reuse detection).
        refresh_model.objects.bulk_create(
            [refresh_model(user=bob, application=web, token=token_value(), token_family=f,
                           revoked=now - timedelta(days=1)) for f in families], batch_size=5000)
        AuthorizationRecord.objects.bulk_create(
            [AuthorizationRecord(code_checksum=uuid.uuid4().hex * 2, application=web, user=bob, amr=["pwd"],
                                 auth_time=now, token_family=f, redeemed_at=now) for f in families],
            batch_size=5000)
        grant_model.objects.bulk_create(
            (grant_model(user=bob, application=web, code=token_value(), expires=now - timedelta(minutes=5),
                         redirect_uri="http://127.0.0.1:4003/auth/callback", scope="openid",
                         code_challenge="x" * 43, code_challenge_method="S256") for _ in range(code_flows // 2)),
            batch_size=5000)
    kept = sum(alive)
    return {"access tokens": live + kept, "refresh tokens": 2 * kept, "ID tokens": kept, "grants": 0,
            "authorization records": kept}


def sample_endpoint(count: int) -> dict:
    """Real client-credentials requests; what they leave in the access token table."""
    from django.test import Client
    from oauth2_provider.models import get_access_token_model

    access_model = get_access_token_model()
    before = access_model.objects.count()
    client = Client()
    basic = "Basic " + base64.b64encode(":".join(MACHINE).encode()).decode()
    started = time.monotonic()
    for _ in range(count):
        response = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic)
        if response.status_code != 200:
            raise SystemExit(f"the token endpoint answered {response.status_code}: {response.content[:300]!r}")
    seconds = time.monotonic() - started
    stored = access_model.objects.count() - before
    row = access_model.objects.filter(application__client_id=MACHINE[0], user__isnull=True).latest("pk")
    return {"requests": count, "seconds": round(seconds, 1), "rows_stored": stored, "token_length": len(row.token),
            "scope": row.scope, "resource": row.resource, "application_id": row.application_id,
            "lifetime_s": round((row.expires - row.created).total_seconds())}


def bulk_insert(cursor, *, total: int, chunk: int, lifetime: int, shape: dict) -> float:
    """`total` rows shaped like the sample's, in chunks of one INSERT ... SELECT each (autocommit)."""
    started = time.monotonic()
    done = 0
    while done < total:
        n = min(chunk, total - done)
        # 30 characters like token_value(); the checksum is what DOT's TokenChecksumField stores.
        cursor.execute(
            "INSERT INTO oauth2_provider_accesstoken "
            "(token, token_checksum, expires, scope, application_id, user_id, created, updated, resource) "
            "SELECT t, encode(sha256(convert_to(t, 'UTF8')), 'hex'), now() + make_interval(secs => %s), %s, %s, "
            "NULL, now(), now(), %s::jsonb "
            "FROM (SELECT substr(md5(random()::text) || md5(random()::text), 1, 30) AS t "
            "FROM generate_series(1, %s)) AS g",
            [lifetime, shape["scope"], shape["application_id"], json.dumps(shape["resource"]), n])
        done += n
    return time.monotonic() - started


def prune_until_done(max_runs: int) -> list[dict]:
    """tokens_prune() as the beat runs it (the deployment's batch size and cap), until a run finishes."""
    from identity.token_housekeeping import tokens_prune

    runs = []
    for _ in range(max_runs):
        result = tokens_prune()
        runs.append({"deleted": result.deleted, "unfinished": result.unfinished, "seconds": round(result.seconds, 1)})
        log(f"  prune run {len(runs)}: {result.deleted} in {result.seconds:.1f} s"
            + (f"; unfinished: {result.unfinished}" if result.unfinished else ""))
        if not result.unfinished:
            break
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="gatehouse_soak")
    parser.add_argument("--tokens", type=int, default=1_000_000, help="client-credentials rows per wave")
    parser.add_argument("--waves", type=int, default=2, help="insert, expire, prune, VACUUM: this many times")
    parser.add_argument("--chunk", type=int, default=100_000, help="rows per INSERT")
    parser.add_argument("--lifetime", type=int, default=60, help="seconds the soak's tokens live")
    parser.add_argument("--sample", type=int, default=1000, help="real token endpoint requests first")
    parser.add_argument("--live", type=int, default=10_000, help="client-credentials tokens valid for a day")
    parser.add_argument("--code-flows", type=int, default=20_000, help="sign-ins' rows, half alive, half dead")
    parser.add_argument("--max-runs", type=int, default=20, help="prune runs per wave at most")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.update(prepare(args.database, args.lifetime))
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    figures: dict = {"args": vars(args), "waves": [], "settings": {
        "batch_size": settings.GATEHOUSE_TOKENS_PRUNE_BATCH_SIZE,
        "max_batches": settings.GATEHOUSE_TOKENS_PRUNE_MAX_BATCHES,
        "interval_s": settings.GATEHOUSE_TOKENS_PRUNE_INTERVAL_SECONDS}}
    snapshots: list[tuple[str, dict]] = []
    with connection.cursor() as cursor:
        log(f"Adding {args.live:,} live client-credentials tokens and {args.code_flows:,} sign-ins (half dead)")
        expected_kept = add_survivors_and_dead_code_flows(args.live, args.code_flows)
        log(f"Sampling the token endpoint: {args.sample:,} client-credentials requests")
        figures["sample"] = shape = sample_endpoint(args.sample)
        log(f"  {shape}")
        snapshots.append(("before", sizes(cursor)))
        for wave in range(1, args.waves + 1):
            log(f"Wave {wave}: inserting {args.tokens:,} tokens living {args.lifetime} s")
            insert_s = bulk_insert(cursor, total=args.tokens, chunk=args.chunk, lifetime=args.lifetime, shape=shape)
            inserted_at = time.time()
            log(f"  inserted in {insert_s:.1f} s")
            snapshots.append((f"wave {wave}: peak", sizes(cursor)))
            # The last chunk's rows expire `lifetime` seconds after it committed (now() is its start).
            wait = max(0.0, inserted_at + args.lifetime + 1 - time.time())
            log(f"  waiting {wait:.0f} s for them to expire")
            time.sleep(wait)
            runs = prune_until_done(args.max_runs)
            snapshots.append((f"wave {wave}: after {len(runs)} prune run(s)", sizes(cursor)))
            started = time.monotonic()
            for table in TABLES.values():
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            vacuum_s = time.monotonic() - started
            snapshots.append((f"wave {wave}: after VACUUM", sizes(cursor)))
            figures["waves"].append({"insert_s": round(insert_s, 1), "prune_runs": runs,
                                     "vacuum_s": round(vacuum_s, 1)})
        for table in TABLES.values():
            cursor.execute(f"VACUUM FULL {table}")
        snapshots.append(("after VACUUM FULL", sizes(cursor)))
        cursor.execute("SELECT count(*) FROM oauth2_provider_accesstoken a WHERE a.expires <= now() AND NOT EXISTS "
                       "(SELECT 1 FROM oauth2_provider_refreshtoken r WHERE r.access_token_id = a.id)")
        expired_left = cursor.fetchone()[0]
    figures["snapshots"] = [{"step": step, **snap} for step, snap in snapshots]
    final = snapshots[-1][1]
    # The sample's tokens expired and went with the bulk ones.
    wrong = {label: (final[label]["rows"], rows) for label, rows in expected_kept.items()
             if final[label]["rows"] != rows}
    print(render(snapshots))
    print()
    for number, wave in enumerate(figures["waves"], 1):
        runs = ", ".join(f"{sum(r['deleted'].values()):,} rows in {r['seconds']} s" for r in wave["prune_runs"])
        print(f"wave {number}: insert {wave['insert_s']} s; prune runs: {runs}; VACUUM {wave['vacuum_s']} s")
    print(f"sample: {shape}")
    print(f"settings: {figures['settings']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    if wrong or expired_left:
        print(f"FAILED: rows left (found, expected): {wrong}; expired access tokens left: {expired_left}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

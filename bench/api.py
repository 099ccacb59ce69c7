"""The management API's figures: API-key authentication CPU, users-list pages at 100,000 members, a full
user sync of the assigned users.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_scale SECRET_KEY=x GATEHOUSE_ENCRYPTION_KEYS=$(
        .venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")
    export REDIS_URL=redis://127.0.0.1:6379/0      # optional: rate-limit counters in Redis, as in production
    .venv/bin/python bench/seed_console.py --members 100000 --events 1000000   # once (shared with console.py)
    .venv/bin/python bench/api.py [--repeat 50] [--parts auth,users,sync] [--sync-limit 200] [--json FILE]

Targets (issue #12): API-key authentication adds < 1 ms of server CPU per request; GET
/api/v1/orgs/{org}/users at 100,000 members p95 < 100 ms for any page; a user sync of 100,000 assigned
users completes in < 60 s.

- auth: `ApiKeyAuthentication.authenticate` (the compiled prefix lookup with the creator's role in one
  prepared statement, one SHA-256, the last-used check: applications/apikey_lookup.py), then the two
  rate-limit counter hits, `--repeat` × 20 times in this process on a request built by RequestFactory;
  prints the median and p95 process CPU of each (the server's CPU, not PostgreSQL's or Redis's) and the
  wall-clock time of both. Run it with REDIS_URL set: on the database counters each hit is a write.
- users: each list variant (first page, 90 % deep with a signed cursor, per sort, per filter) requested
  `--repeat` times through Django's test client with a key (the whole middleware stack, DRF, the
  selector's SQL, the JSON); p50 / p95 / max wall ms and CPU p50.
- sync: a fresh machine application of the big org (every active or suspended member assigned), a key
  bound to it, then GET /api/v1/app/users from no cursor until has_more is false (`--sync-limit` per
  page), timed end to end; then one more call at the head (nothing changed: the incremental check).

The key is created by the system (manage.py's path) and deleted afterwards with the application.
Exits 1 when a request answers anything but 200.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, str(_HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BIG_SLUG = "scale-bigcorp"
ALL_SCOPES = ["members.view", "members.manage", "groups.view"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_auth(org, raw_key: str, repeat: int) -> dict:
    from django.test import RequestFactory
    from rest_framework.request import Request

    from api.authentication import ApiKeyAuthentication
    from api.throttling import rate_limit_ip, rate_limit_key

    authenticator = ApiKeyAuthentication()
    factory = RequestFactory()
    auth_cpu, limit_cpu, wall = [], [], []
    for index in range(repeat * 20 + 20):
        django_request = factory.get(f"/api/v1/orgs/{org.slug}/users", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        django_request.client_ip = "127.0.0.1"
        request = Request(django_request, authenticators=[authenticator])
        c0, w0 = time.process_time(), time.perf_counter()
        _user, principal = authenticator.authenticate(request)
        c1 = time.process_time()
        rate_limit_ip("127.0.0.1")
        rate_limit_key(principal.label)
        c2, w2 = time.process_time(), time.perf_counter()
        if index >= 20:  # warm-up
            auth_cpu.append((c1 - c0) * 1000)
            limit_cpu.append((c2 - c1) * 1000)
            wall.append((w2 - w0) * 1000)
    return {"calls": len(auth_cpu),
            "authenticate cpu ms p50": round(statistics.median(auth_cpu), 3),
            "authenticate cpu ms p95": round(_pct(auth_cpu, 0.95), 3),
            "2 rate-limit hits cpu ms p50": round(statistics.median(limit_cpu), 3),
            "2 rate-limit hits cpu ms p95": round(_pct(limit_cpu, 0.95), 3),
            "both wall ms p50": round(statistics.median(wall), 3), "both wall ms p95": round(_pct(wall, 0.95), 3)}


def _user_pages(org, raw_key: str) -> dict[str, dict]:
    from api.pagination import cursor_encode
    from directory.models import Group
    from directory.selectors import user_cursor_encode, user_list
    from orgs.models import Membership

    total = Membership.objects.for_org(org).count()
    groups = sorted(Group.objects.for_org(org), key=lambda group: group.memberships.count())
    big, small = groups[-1], groups[0]

    def deep(sort: str, **filters) -> str:
        row = user_list(org=org, sort=sort)[int(total * 0.9)]
        return cursor_encode(user_cursor_encode(row, sort), list_name="users", org_id=org.pk,
                             filters={"sort": sort, **filters})

    return {
        "users-first": {},
        "users-deep": {"cursor": deep("email")},
        "users-sort-name-deep": {"sort": "name", "cursor": deep("name")},
        "users-sort-created": {"sort": "created"},
        "users-sort-created-deep": {"sort": "created", "cursor": deep("created")},
        "users-search-broad": {"q": "mar"},
        "users-status-suspended": {"status": "suspended"},
        "users-role-admin": {"role": "admin"},
        "users-group-big": {"group": big.pk},
        "users-group-small": {"group": small.pk},
        "users-limit-200": {"limit": 200},
    }


def bench_users(org, raw_key: str, repeat: int) -> dict:
    from django.test import Client

    client = Client()
    headers = {"Authorization": f"Bearer {raw_key}"}
    results = {}
    for name, params in _user_pages(org, raw_key).items():
        path = f"/api/v1/orgs/{org.slug}/users"
        for _ in range(3):
            client.get(path, params, headers=headers)
        wall, cpu = [], []
        rows = 0
        for _ in range(repeat):
            c0, w0 = time.process_time(), time.perf_counter()
            response = client.get(path, params, headers=headers)
            c1, w1 = time.process_time(), time.perf_counter()
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
            wall.append((w1 - w0) * 1000)
            cpu.append((c1 - c0) * 1000)
            rows = len(response.json()["data"])
        results[name] = {"rows": rows, "p50 ms": round(statistics.median(wall), 1),
                         "p95 ms": round(_pct(wall, 0.95), 1), "max ms": round(max(wall), 1),
                         "cpu p50 ms": round(statistics.median(cpu), 1)}
        print(f"{name:28} rows {rows:4}  p50 {results[name]['p50 ms']:7.1f}  p95 {results[name]['p95 ms']:7.1f}  "
              f"max {results[name]['max ms']:7.1f}  cpu p50 {results[name]['cpu p50 ms']:6.1f} ms", flush=True)
    return results


def bench_sync(org, application, raw_key: str, limit: int) -> dict:
    from django.test import Client, override_settings

    client = Client()
    headers = {"Authorization": f"Bearer {raw_key}"}
    users, pages, cursor = 0, 0, None
    started = time.perf_counter()
    cpu0 = time.process_time()
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/app/users", params, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"sync: {response.status_code} {response.content[:300]!r}")
        body = response.json()
        users += len(body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    full = time.perf_counter() - started
    full_cpu = time.process_time() - cpu0
    with override_settings(GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS=0):
        started = time.perf_counter()
        response = client.get("/api/v1/app/users", {"cursor": cursor}, headers=headers)
        head = time.perf_counter() - started
    return {"users": users, "pages": pages, "full sync s": round(full, 2), "full sync cpu s": round(full_cpu, 2),
            "incremental at head (no change) s": round(head, 2), "incremental items": len(response.json()["data"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--parts", default="auth,users,sync")
    parser.add_argument("--sync-limit", type=int, default=200)
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from applications.apikey_services import api_key_create
    from applications.services import application_create, application_delete
    from orgs.models import Organization

    settings.ALLOWED_HOSTS = ["*"]
    settings.GATEHOUSE_API_RATE_LIMIT_PER_KEY = settings.GATEHOUSE_API_RATE_LIMIT_PER_IP = 10**9
    org = Organization.objects.filter(slug=BIG_SLUG).first()
    if org is None:
        print("Run bench/seed_console.py first.", file=sys.stderr)
        return 1
    parts = set(args.parts.split(","))
    application = application_create(org=org, name="bench-api sync", kind="machine").application
    results: dict = {"counters": settings.GATEHOUSE_COUNTERS}
    try:
        _key, raw = api_key_create(org=org, actor=None, request=None, name="bench-api", scopes=ALL_SCOPES,
                                   application=application, system=True)
        if "auth" in parts:
            results["auth"] = bench_auth(org, raw, args.repeat)
            print("auth:", results["auth"], flush=True)
        if "users" in parts:
            results["users"] = bench_users(org, raw, args.repeat)
        if "sync" in parts:
            results["sync"] = bench_sync(org, application, raw, args.sync_limit)
            print("sync:", results["sync"], flush=True)
    finally:
        application_delete(application=application, actor=None)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Server time and queries per page of the console's users and audit lists, at 100,000 members and 1,000,000 events.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/gh_scale SECRET_KEY=x GATEHOUSE_ENCRYPTION_KEYS=$(
        .venv/bin/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")
    .venv/bin/python bench/seed_console.py --members 100000 --events 1000000   # once (a couple of minutes)
    .venv/bin/python bench/console.py [--repeat 50] [--pages users-first,audit-ip] [--explain] [--json FILE]

Signs in as the seeded admin of `scale-bigcorp` and requests each page `--repeat` times, in this process,
through Django's test client with the whole middleware stack (sessions, auth, CSP, the org permission
check), the view, its selector's SQL on PostgreSQL and the template: that is the server's time for a
page, without the network, a WSGI server or a browser. Why not granian + HTTP: the target is server
time per page, and an in-process client measures it without a load generator's queueing and loopback
noise (bench/oidc.py does the HTTP side for the OIDC endpoints; a list page adds nothing HTTP-specific).

Each page gets 3 untimed warm-up requests, then `--repeat` timed ones (time.perf_counter around
`client.get`), then one more under CaptureQueriesContext for the query count (that one is not timed:
capturing makes every query slower). Prints p50 / p95 / max wall-clock milliseconds, the median CPU
time of this process per request ("cpu p50": Django and the template, not PostgreSQL's side, and not
inflated by waiting for a core), the rows shown and the query count, and the load average before
and after (the machine is shared: wall-clock figures rise with whatever else runs). `--explain` also
prints EXPLAIN (ANALYZE, BUFFERS) of each page's list query (else its slowest statement).
Exits 1 if a page answers anything but 200 or shows no row where it should.

Deep pages are reached with a cursor built 90 % of the way through the order (users) or half-way back
through the org's log (audit) — the same request as following "Next page" a couple of thousand times.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

sys.path.insert(0, str(_HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BIG_SLUG = "scale-bigcorp"
ADMIN_EMAIL = "admin@bigcorp.test"


def _pages(org) -> dict[str, tuple[str, dict]]:
    """name → (list, query) for every page variant measured, with values taken from the seeded data."""
    from django.db.models import Count

    from audit.models import AuditEvent
    from audit.selectors import Cursor
    from directory.models import Group
    from directory.selectors import user_cursor_encode, user_list
    from orgs.models import Membership

    members = Membership.objects.for_org(org)
    total = members.count()
    groups = list(Group.objects.for_org(org).order_by("pk"))
    sizes = {g.pk: g.memberships.count() for g in groups}
    by_size = sorted(groups, key=lambda g: sizes[g.pk])
    big_group, mid_group, small_group = by_size[-1], by_size[len(by_size) // 2], by_size[0]

    def deep_cursor(sort: str) -> str:
        row = user_list(org=org, sort=sort)[int(total * 0.9)]
        return user_cursor_encode(row, sort)

    events = AuditEvent.objects.for_org(org)
    middle = events.order_by("-created_at", "-id")[events.count() // 2]
    latest = events.order_by("-created_at").first()
    some_ip = events.exclude(ip=None).order_by("-created_at").values_list("ip", flat=True)[1000]
    actor = events.exclude(actor_label="").order_by("-created_at").values_list("actor_label", flat=True)[500]
    target = events.filter(target_type="directory.user").order_by("-created_at").values_list(
        "target_id", flat=True)[700]
    # The busiest actor and target: their filters match thousands of events, not a handful.
    busiest_actor = events.exclude(actor_label="").values("actor_label").annotate(n=Count("id")).order_by("-n")[0]
    busiest_target = events.filter(target_type="directory.user").values("target_id").annotate(
        n=Count("id")).order_by("-n")[0]
    week_end = latest.created_at.date().replace(day=1)
    week_start = week_end.fromordinal(week_end.toordinal() - 6)
    half_year = latest.created_at.date().fromordinal(latest.created_at.date().toordinal() - 182)

    return {
        "users-first": ("users", {}),
        "users-search-broad": ("users", {"q": "mar"}),
        "users-search-narrow": ("users", {"q": "zoe.kh"}),
        "users-search-name": ("users", {"q": "Hugo W"}),
        "users-status-suspended": ("users", {"status": "suspended"}),
        "users-role-admin": ("users", {"role": "admin"}),
        "users-group-big": ("users", {"group": big_group.pk}),
        "users-group-mid": ("users", {"group": mid_group.pk}),
        "users-group-small": ("users", {"group": small_group.pk}),
        "users-invited-in-group": ("users", {"status": "invited", "group": mid_group.pk}),
        "users-deep": ("users", {"after": deep_cursor("email")}),
        "users-sort-name": ("users", {"sort": "name"}),
        "users-sort-name-deep": ("users", {"sort": "name", "after": deep_cursor("name")}),
        "users-sort-created": ("users", {"sort": "created"}),
        "users-sort-created-deep": ("users", {"sort": "created", "after": deep_cursor("created")}),
        "audit-first": ("audit", {}),
        "audit-actor": ("audit", {"actor": actor.split("@")[0][:8]}),
        "audit-actor-exact": ("audit", {"actor": actor}),
        "audit-action": ("audit", {"action": "login.failed"}),
        "audit-action-rare": ("audit", {"action": "password_policy.updated"}),
        "audit-action-prefix": ("audit", {"action": "membership."}),
        "audit-actor-busiest": ("audit", {"actor": busiest_actor["actor_label"]}),
        "audit-target": ("audit", {"target": target}),
        "audit-target-busiest": ("audit", {"target": busiest_target["target_id"]}),
        "audit-week": ("audit", {"date_from": week_start.isoformat(), "date_to": week_end.isoformat()}),
        "audit-half-year-ago": ("audit", {"date_from": half_year.isoformat()}),
        "audit-ip": ("audit", {"ip": some_ip}),
        "audit-deep": ("audit", {"before": Cursor(created_at=middle.created_at, pk=middle.pk).encode()}),
    }, {"members": total, "groups": {"big": sizes[big_group.pk], "mid": sizes[mid_group.pk],
                                     "small": sizes[small_group.pk]}, "events": events.count(),
        "busiest actor events": busiest_actor["n"], "busiest target events": busiest_target["n"]}


def _rows_shown(html: str) -> int:
    """Rows in the page's table (the test client has no response.context outside a test run)."""
    body = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    return 0 if "colspan" in body else body.count("<tr>")


def _explain(captured) -> str:
    from django.db import connection

    # The page's own query fetches one row more than a page (to know whether there is a next one).
    pages = [q for q in captured if "LIMIT 51" in q["sql"]]
    slowest = max(pages or captured, key=lambda q: float(q["time"]))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each page's list query")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL to the PostgreSQL database bench/seed_console.py seeded")

    # Production settings serve static files through a manifest: collect them into a scratch directory
    # (never var/) so templates resolve `{% static %}` exactly as a deployment does.
    os.environ.setdefault("GATEHOUSE_VAR_DIR", tempfile.mkdtemp(prefix="gatehouse-console-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from directory.models import User
    from identity.services import session_sign_in_for_tests
    from orgs.models import Organization

    call_command("collectstatic", interactive=False, verbosity=0)
    org = Organization.objects.filter(slug=BIG_SLUG).first()
    if org is None:
        print(f"{BIG_SLUG} is not seeded: run bench/seed_console.py first", file=sys.stderr)
        return 1
    client = Client()
    session_sign_in_for_tests(client=client, user=User.objects.get(email=ADMIN_EMAIL))
    pages, shape = _pages(org)
    print(f"shape: {shape}")
    wanted = [p for p in args.pages.split(",") if p] or list(pages)
    urls = {"users": reverse("console:user-list", kwargs={"org_slug": org.slug}),
            "audit": reverse("console:audit-list", kwargs={"org_slug": org.slug})}
    results, failed = [], False
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min, {os.cpu_count()} CPUs)")
    print(f"{'page':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu p50':>8} {'rows':>5} {'queries':>8}")
    for name in wanted:
        kind, query = pages[name]
        url = urls[kind] + ("?" + urlencode(query) if query else "")
        for _ in range(3):
            client.get(url)
        times, cpu = [], []
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        rows = _rows_shown(response.content.decode())
        error = "field-error" in response.content.decode() or "form-errors" in response.content.decode()
        if response.status_code != 200 or rows == 0 or error:
            failed = True
            print(f"{name}: status {response.status_code}, {rows} rows, form errors: {error}")
        times.sort()
        row = {"page": name, "url": url, "p50_ms": round(statistics.median(times), 1),
               "p95_ms": round(times[max(0, int(len(times) * 0.95 + 0.5) - 1)], 1),
               "max_ms": round(times[-1], 1), "python_cpu_p50_ms": round(statistics.median(cpu), 1),
               "rows": rows, "queries": len(captured.captured_queries)}
        results.append(row)
        print(f"{name:26} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} {row['max_ms']:8.1f} "
              f"{row['python_cpu_p50_ms']:8.1f} {rows:5} {row['queries']:8}")
        if args.explain:
            print(_explain(captured.captured_queries), "\n")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"shape": shape, "repeat": args.repeat, "pages": results}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

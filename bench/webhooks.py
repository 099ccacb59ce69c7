"""Webhook benchmark: one real Celery worker delivering 1,000 signed webhooks to a real receiver on loopback.

    .venv/bin/python bench/webhooks.py                     # prefork worker, 4 processes, 1,000 deliveries
    .venv/bin/python bench/webhooks.py --pool solo         # one process, one delivery at a time
    .venv/bin/python bench/webhooks.py --deliveries 200 --skip-kill
    .venv/bin/python bench/webhooks.py --deliveries 2000      # the figures in bench/RESULTS.md (#12)

Shape: production (PostgreSQL on 127.0.0.1:5432, Redis broker). It (re)creates the database
`gatehouse_bench_webhooks`, migrates it, empties Redis database 11 (this benchmark's broker; 10 is its
cache), starts a receiver in this process (http.server threads on 127.0.0.1 that verify every signature
with the `standardwebhooks` library and answer 204, as a customer's endpoint would), a `celery beat`
process (the webhook sweeper every minute, as in compose.yaml) and one `celery worker`, with Gatehouse's
own settings (acks_late, prefetch 1) and GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE=true (the receiver is on
loopback). One organization with one endpoint subscribed to `group.created`. Then:

1. throughput: records N `group.created` audit events in one transaction with the worker stopped (each
   writes its delivery row in the same transaction; handed to the broker on commit), starts the worker,
   and reports deliveries per second from the first verified request at the receiver to the last;
2. kill: records N more, starts a worker, SIGKILLs its whole process group when half have arrived,
   starts a new worker at once, and waits for every row to be `sent` (a row the killed worker had
   claimed comes back through the sweeper after its 60-second sending timeout, and the rest of the tasks
   the dead worker had taken off the broker after the one-minute redispatch delay, webhooks/delivery.py;
   the sweeper runs every minute, so this takes one to three minutes). Reports the distinct webhook-ids
   the receiver verified (N of N: nothing lost), duplicates (the deliveries in flight at the kill, sent
   again: at least once), when the claimed rows and the whole batch were sent after the kill, the
   deliveries/s of the whole phase, and a timeline of rows sent.

The target is ≥ 100 deliveries/s with nothing lost. Not collected by pytest, not run in CI.
Results: bench/RESULTS.md ("Webhooks").
"""

import sys
from pathlib import Path

# Run as `python bench/webhooks.py`, this directory comes first on sys.path, where bench/email.py would
# shadow the standard library's `email` package (which Django imports): take it off first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
ROOT = _HERE.parent
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
DATABASE = "gatehouse_bench_webhooks"
REDIS_CACHE = "redis://127.0.0.1:6379/10"
REDIS_BROKER = "redis://127.0.0.1:6379/11"
BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def group_cpu_seconds(pgid: int) -> float:
    """utime + stime of every live process in a process group (the worker and its pool children)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"], "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-tAc", sql], check=True, capture_output=True)


def bench_env(var_dir: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}",
        "REDIS_URL": REDIS_CACHE,
        "CELERY_BROKER_URL": REDIS_BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "GATEHOUSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
    }


def kill_phase(record, worker, arrived, receiver, n: int, timeout: float) -> dict:
    """Record N events, start a worker, SIGKILL it when half have arrived (others in flight), start a new
    worker at once, and follow the rows until every one is sent. Reports what the receiver got (distinct
    webhook-ids, duplicates), how long the rows of the dead worker waited, and deliveries/s overall."""
    from django.db.models import Count

    from emailqueue.tests.worker import kill_worker
    from webhooks.models import WebhookDelivery

    ids, _ = record("b")
    started = time.perf_counter()
    victim = worker()
    while arrived(ids) < n // 2:
        time.sleep(0.002)
    kill_worker(victim)
    killed_at = time.perf_counter()
    at_kill = arrived(ids)
    rows = WebhookDelivery.objects.filter(message_id__in=ids)
    claimed = set(rows.filter(status="sending").values_list("message_id", flat=True))
    unsent = set(rows.exclude(status="sent").values_list("message_id", flat=True))
    log(f"SIGKILLed the worker at {killed_at - started:.1f}s with {at_kill}/{n} at the receiver, {len(claimed)} "
        f"row(s) claimed (sending), {len(unsent)} not yet sent")
    worker()
    claimed_back = backlog_done = None
    timeline = []  # (seconds after the kill, rows sent) whenever the count changes
    deadline = killed_at + timeout
    while time.perf_counter() < deadline:
        now = time.perf_counter() - killed_at
        sent = set(rows.filter(status="sent").values_list("message_id", flat=True))
        if not timeline or timeline[-1][1] != len(sent):
            timeline.append((round(now, 1), len(sent)))
        if claimed_back is None and claimed <= sent:
            claimed_back = now
        if len(sent) == n:
            backlog_done = now
            break
        time.sleep(0.25)
    done = time.perf_counter() - killed_at
    sent_count = rows.filter(status="sent").count()
    received = [mid for mid in receiver.ids() if mid in ids]
    distinct = len(set(received))
    duplicates = len(received) - distinct
    total = time.perf_counter() - started
    log(f"After the kill: {sent_count}/{n} sent, {distinct}/{n} distinct webhook-ids at the receiver, "
        f"{duplicates} duplicate(s); claimed rows sent again {claimed_back or float('nan'):.1f}s after the kill; "
        f"all sent {done:.1f}s after the kill; {n / total:.1f} deliveries/s overall ({total:.1f}s); "
        f"timeline (s after kill, sent): {compact(timeline)}")
    attempts = dict(rows.values("attempts").annotate(rows=Count("id")).order_by("attempts")
                    .values_list("attempts", "rows"))
    return {"kill_delivered": sent_count, "kill_distinct_at_receiver": distinct, "kill_duplicates": duplicates,
            "kill_claimed_at_kill": len(claimed), "kill_unsent_at_kill": len(unsent),
            "kill_delivered_at_kill": at_kill, "kill_claimed_retried_after_s": round(claimed_back or -1, 1),
            "kill_all_sent_after_s": round(backlog_done or -1, 1), "kill_overall_per_s": round(n / total, 1),
            "kill_attempts_histogram": attempts}


def compact(timeline: list[tuple[float, int]]) -> str:
    """The first few points, the points around each pause of more than 2 s, and the last."""
    keep = [point for i, point in enumerate(timeline)
            if i < 3 or i == len(timeline) - 1 or timeline[i][0] - timeline[i - 1][0] > 2
            or (i + 1 < len(timeline) and timeline[i + 1][0] - point[0] > 2)]
    return ", ".join(f"{t}s:{c}" for t, c in keep)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--pool", choices=["prefork", "solo", "threads"], default="prefork")
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes/threads (not with solo)")
    parser.add_argument("--skip-kill", action="store_true", help="only the throughput run")
    parser.add_argument("--kill-timeout", type=float, default=15 * 60, help="seconds to wait for recovery")
    args = parser.parse_args()
    n = args.deliveries

    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-webhooks-"))
    os.environ.update(bench_env(work / "var"))  # this process records events and reads rows with the same settings

    log(f"Creating database {DATABASE} (dropping any previous one); emptying Redis db 11 (broker)")
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=os.environ,
                   check=True)

    import django

    django.setup()
    import redis
    from django.db import transaction

    from audit.services import audit_record
    from emailqueue.tests.worker import start_worker, stop_worker
    from orgs.models import Organization
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_endpoint_create
    from webhooks.tests.receiver import Receiver

    redis.Redis.from_url(REDIS_BROKER).flushdb()
    receiver = Receiver().start()
    org = Organization.objects.create(slug="bench", name="Bench")
    endpoint, secret = webhook_endpoint_create(org=org, url=receiver.url, events=["group.created"], actor=None)
    receiver.secret = secret

    worker_log = work / "worker.log"
    beat = subprocess.Popen([str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
                             "-s", str(work / "celerybeat-schedule")], cwd=ROOT, env=os.environ,
                            stdout=(work / "beat.log").open("w"), stderr=subprocess.STDOUT, process_group=0)
    workers = []

    def worker():
        process = start_worker(queue="celery", env={}, log_path=worker_log, pool=args.pool,
                               concurrency=None if args.pool == "solo" else args.concurrency)
        workers.append(process)
        return process

    def record(batch: str) -> tuple[set[str], float]:
        started = time.perf_counter()
        with transaction.atomic():
            first = WebhookDelivery.objects.order_by("-id").values_list("id", flat=True).first() or 0
            for i in range(n):
                audit_record(action="group.created", org=org, metadata={"name": f"{batch}-{i}"})
        ids = set(WebhookDelivery.objects.filter(id__gt=first).values_list("message_id", flat=True))
        assert len(ids) == n, len(ids)
        return ids, time.perf_counter() - started

    def arrived(ids: set[str]) -> int:
        return len(ids & set(receiver.ids()))

    try:
        # 1. Throughput.
        ids, record_seconds = record("a")
        log(f"Recorded {n} events with their deliveries in {record_seconds:.2f}s ({n / record_seconds:.0f}/s)")
        pgid = worker().pid
        while arrived(ids) == 0:
            time.sleep(0.005)
            assert workers[-1].poll() is None, worker_log.read_text()[-3000:]
        first = time.perf_counter()
        worker_cpu, bench_cpu = group_cpu_seconds(pgid), own_cpu_seconds()
        while arrived(ids) < n:
            time.sleep(0.01)
            assert workers[-1].poll() is None, worker_log.read_text()[-3000:]
        last = time.perf_counter()
        worker_cpu, bench_cpu = group_cpu_seconds(pgid) - worker_cpu, own_cpu_seconds() - bench_cpu
        rate = (n - 1) / (last - first)
        received = receiver.ids()
        duplicates_a = len(received) - len(set(received))
        log(f"Delivered {n} in {last - first:.2f}s: {rate:.0f} deliveries/s; duplicates {duplicates_a}; "
            f"signatures refused {len(receiver.rejected)}; worker CPU {worker_cpu * 1000 / n:.1f} ms/delivery, "
            f"this process (receiver) {bench_cpu * 1000 / n:.1f} ms/delivery; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        stop_worker(workers[-1])
        result = {"deliveries": n, "pool": args.pool,
                  "concurrency": 1 if args.pool == "solo" else args.concurrency,
                  "record_per_s": round(n / record_seconds), "delivered_per_s": round(rate),
                  "throughput_duplicates": duplicates_a, "signatures_refused": len(receiver.rejected),
                  "worker_cpu_ms_per_delivery": round(worker_cpu * 1000 / n, 1),
                  "receiver_cpu_ms_per_delivery": round(bench_cpu * 1000 / n, 1)}

        if not args.skip_kill:
            result.update(kill_phase(record, worker, arrived, receiver, n, args.kill_timeout))
        print(result)
        lost = n - result.get("kill_distinct_at_receiver", n)
        return 1 if lost or receiver.rejected else 0
    finally:
        for process in workers:
            stop_worker(process)
        stop_worker(beat)
        receiver.stop()
        log(f"Logs in {work}")


if __name__ == "__main__":
    sys.exit(main())

"""Outbox benchmark: one real Celery worker delivering 1,000 emails to a real SMTP server on loopback.

    .venv/bin/python bench/email.py                        # prefork worker, 4 processes, 1,000 messages
    .venv/bin/python bench/email.py --pool solo            # one process, one message at a time
    .venv/bin/python bench/email.py --messages 200 --skip-kill

Shape: production (PostgreSQL on 127.0.0.1:5432, Redis broker). It (re)creates the database
`gatehouse_bench_email`, migrates it, empties Redis database 9 (this benchmark's broker; 8 is its cache),
starts an aiosmtpd sink in this process, a `celery beat` process (the outbox sweeper every minute, as in
compose.yaml) and one `celery worker`, with Gatehouse's own settings (acks_late, prefetch 1, the
default sweeper timeouts of 5 minutes). Then:

1. throughput: enqueues N messages (rendered from templates, one transaction, handed to the broker on
   commit) with the worker stopped, starts it, and reports messages per second from the first message
   at the sink to the last;
2. kill: enqueues N more, starts a worker, SIGKILLs its whole process group when half have arrived,
   starts a new worker at once, and waits for every row to be `sent` (the row the killed worker had
   claimed comes back through the sweeper after its 5-minute timeout, so this takes minutes). Reports
   N of N delivered, the time it took, and duplicates counted by Message-ID at the sink.

Not collected by pytest, not run in CI. Results: bench/RESULTS.md ("Email outbox").
"""

import sys
from pathlib import Path

# Run as `python bench/email.py`, this directory comes first on sys.path and this file would shadow
# the standard library's `email` package (which smtplib and Django import): take it off first.
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
DATABASE = "gatehouse_bench_email"
REDIS_CACHE = "redis://127.0.0.1:6379/8"
REDIS_BROKER = "redis://127.0.0.1:6379/9"
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


CLK_TCK = os.sysconf("SC_CLK_TCK")


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
        if int(fields[2]) == pgid:  # field 5 of stat(5): the process group
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", PG["host"], "-p", str(PG["port"]), "-U", PG["user"], "-d", "postgres",
                    "-v", "ON_ERROR_STOP=1", "-tAc", sql], check=True, capture_output=True)


def bench_env(var_dir: Path, smtp_url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DATABASE}",
        "REDIS_URL": REDIS_CACHE,
        "CELERY_BROKER_URL": REDIS_BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": smtp_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "GATEHOUSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--pool", choices=["prefork", "solo", "threads"], default="prefork")
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes/threads (not with solo)")
    parser.add_argument("--skip-kill", action="store_true", help="only the throughput run")
    parser.add_argument("--kill-timeout", type=float, default=15 * 60, help="seconds to wait for recovery")
    args = parser.parse_args()
    n = args.messages

    from emailqueue.tests.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    work = Path(tempfile.mkdtemp(prefix="gatehouse-bench-email-"))
    env = bench_env(work / "var", sink.url)
    os.environ.update(env)  # this process enqueues and reads rows with the same settings

    log(f"Creating database {DATABASE} (dropping any previous one); emptying Redis db 9 (broker)")
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=os.environ,
                   check=True)

    import django

    django.setup()
    import redis
    from django.db import transaction
    from django.test.utils import override_settings

    from emailqueue.models import OutboundEmail
    from emailqueue.services import email_enqueue
    from emailqueue.tests.conftest import TEST_TEMPLATES
    from emailqueue.tests.worker import kill_worker, start_worker, stop_worker

    redis.Redis.from_url(REDIS_BROKER).flushdb()
    templates = override_settings(TEMPLATES=[{**engine, "DIRS": [*engine["DIRS"], TEST_TEMPLATES]}
                                             for engine in django.conf.settings.TEMPLATES])
    templates.enable()

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

    def enqueue(batch: str) -> tuple[list[str], float]:
        started = time.perf_counter()
        with transaction.atomic():
            ids = [email_enqueue(to=f"{batch}-{i}@example.test", template="outbox_test", kind="bench",
                                 context={"name": f"Person {i}", "link": f"https://idp.example.test/login?u={i}"}
                                 ).message_id for i in range(n)]
        return ids, time.perf_counter() - started

    def arrived(ids: set[str]) -> int:
        with sink.lock:
            return len(ids & sink.counts.keys())

    try:
        # 1. Throughput.
        ids, enqueue_seconds = enqueue("a")
        ids = set(ids)
        log(f"Enqueued {n} in {enqueue_seconds:.2f}s ({n / enqueue_seconds:.0f}/s, rendering + insert + publish)")
        pgid = worker().pid
        while arrived(ids) == 0:
            time.sleep(0.005)
        first = time.perf_counter()
        worker_cpu, bench_cpu = group_cpu_seconds(pgid), own_cpu_seconds()
        while arrived(ids) < n:
            time.sleep(0.01)
            assert workers[-1].poll() is None, worker_log.read_text()[-3000:]
        last = time.perf_counter()
        worker_cpu, bench_cpu = group_cpu_seconds(pgid) - worker_cpu, own_cpu_seconds() - bench_cpu
        rate = (n - 1) / (last - first)
        duplicates_a = sink.duplicates()
        log(f"Delivered {n} in {last - first:.2f}s: {rate:.0f} messages/s; duplicates {duplicates_a}; "
            f"worker CPU {worker_cpu * 1000 / n:.1f} ms/message, this process (SMTP sink) "
            f"{bench_cpu * 1000 / n:.1f} ms/message; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        stop_worker(workers[-1])

        result = {"messages": n, "pool": args.pool, "concurrency": 1 if args.pool == "solo" else args.concurrency,
                  "enqueue_per_s": round(n / enqueue_seconds), "delivered_per_s": round(rate),
                  "throughput_duplicates": duplicates_a, "worker_cpu_ms_per_message": round(worker_cpu * 1000 / n, 1),
                  "sink_cpu_ms_per_message": round(bench_cpu * 1000 / n, 1)}
        if not args.skip_kill:
            # 2. SIGKILL halfway, restart at once, wait for every row.
            before = len(sink.received)
            ids_b, _ = enqueue("b")
            ids_b = set(ids_b)
            victim = worker()
            while arrived(ids_b) < n // 2:
                time.sleep(0.002)
            kill_worker(victim)
            killed_at = time.perf_counter()
            at_kill = arrived(ids_b)
            claimed = OutboundEmail.objects.filter(status="sending").count()
            log(f"SIGKILLed the worker with {at_kill}/{n} delivered, {claimed} row(s) claimed (sending)")
            worker()
            deadline = killed_at + args.kill_timeout
            remaining_at = {}
            while OutboundEmail.objects.filter(message_id__in=ids_b, status="sent").count() < n:
                if time.perf_counter() > deadline:
                    break
                waiting = n - OutboundEmail.objects.filter(message_id__in=ids_b, status="sent").count()
                remaining_at.setdefault(waiting, round(time.perf_counter() - killed_at, 1))
                time.sleep(0.5)
            done = time.perf_counter() - killed_at
            sent = OutboundEmail.objects.filter(message_id__in=ids_b, status="sent").count()
            received_b = {mid: c for mid, c in sink.message_ids().items() if mid in ids_b}
            duplicates_b = sum(c - 1 for c in received_b.values())
            sweeps = [line.split("succeeded", 1)[1].strip() for line in worker_log.read_text().splitlines()
                      if "outbox_sweep" in line and "succeeded" in line and "'dispatched': 0" not in line]
            log(f"After the kill: {sent}/{n} sent, {len(received_b)}/{n} distinct at the sink, "
                f"{duplicates_b} duplicate(s), all in {done:.1f}s; sweeps that dispatched: {sweeps}")
            result.update(kill_delivered=sent, kill_distinct_at_sink=len(received_b), kill_duplicates=duplicates_b,
                          kill_claimed_at_kill=claimed, kill_delivered_at_kill=at_kill,
                          kill_recovery_seconds=round(done, 1), kill_sweeps=sweeps,
                          kill_received_total=len(sink.received) - before,
                          kill_remaining_timeline=dict(sorted(remaining_at.items())[:3]))
        print(result)
        return 0
    finally:
        for process in workers:
            stop_worker(process)
        stop_worker(beat)
        sink.stop()
        templates.disable()
        log(f"Logs in {work}")


if __name__ == "__main__":
    sys.exit(main())

"""A real Celery worker process on Redis delivering the outbox to a real SMTP server; killed mid-batch.

Runs in .ci/run (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL set). The worker uses pytest-django's
test database and a queue of its own; the sweeper runs here, in the test process, as beat would run it.
"""

import time
import uuid

import pytest
from django.db import connection, transaction

from config.celery import app
from config.tests.test_services import require_env, worker_database_url
from emailqueue.models import OutboundEmail
from emailqueue.services import email_enqueue, outbox_sweep
from emailqueue.tests.smtp_sink import SmtpSink
from emailqueue.tests.worker import kill_worker, start_worker, stop_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
Status = OutboundEmail.Status
BATCH = 50
WAIT_SECONDS = 40


@pytest.fixture
def sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def workers(settings, sink, tmp_path):
    """Start workers on a fresh queue with the sink as EMAIL_URL; delivery tasks from this process go there."""
    database_url = require_env("DATABASE_URL")
    broker_url = require_env("CELERY_BROKER_URL")
    assert broker_url.startswith("redis://")
    queue = f"gatehouse-test-email-{uuid.uuid4().hex[:12]}"
    settings.GATEHOUSE_EMAIL_QUEUE = queue
    env = {
        "DATABASE_URL": worker_database_url(database_url, connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": sink.url,
    }
    log_path = tmp_path / "worker.log"
    started = []

    def start():
        process = start_worker(queue=queue, env=env, log_path=log_path)
        started.append(process)
        return process

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # conftest makes tasks eager; these go through the broker
    try:
        yield start, log_path
    finally:
        app.conf.task_always_eager = eager
        for process in started:
            stop_worker(process)


def enqueue_batch(n: int) -> list[OutboundEmail]:
    with transaction.atomic():  # handed to the broker when this commits
        return [
            email_enqueue(to=f"person{i}@example.test", template="outbox_plain", context={}, kind="test")
            for i in range(n)
        ]


def wait_until(condition, what: str, log_path, processes=()) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            assert process.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen in {WAIT_SECONDS}s:\n{log_path.read_text()[-4000:]}")


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in OutboundEmail.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def test_a_worker_delivers_a_batch(workers, sink):
    start, log_path = workers
    worker = start()
    emails = enqueue_batch(BATCH)
    wait_until(lambda: statuses() == {Status.SENT: BATCH}, "delivery of the batch", log_path, [worker])
    assert sink.message_ids() == {email.message_id: 1 for email in emails}
    assert set(OutboundEmail.objects.values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_mid_batch_loses_nothing(workers, sink, advance_clock, capsys):
    start, log_path = workers
    sink.delay = 0.02  # slow enough that the kill lands mid-batch, with a message in flight
    emails = enqueue_batch(BATCH)
    first = start()
    wait_until(lambda: len(sink.message_ids()) >= BATCH // 3, "the first third", log_path, [first])
    kill_worker(first)
    in_flight = OutboundEmail.objects.filter(status=Status.SENDING).count()
    delivered_before_restart = len(sink.message_ids())
    assert delivered_before_restart < BATCH

    # A new worker takes the rest from the broker. What the dead one held (a row it had claimed, or a
    # task it had received but not started, unacked in Redis for an hour) waits for the sweeper: when
    # nothing moves any more, let the sweeper's delay pass, as beat would, and sweep.
    second = start()
    wait_until(lambda: log_path.read_text().count(" ready.") >= 2, "the second worker's start", log_path, [second])
    sweeps = []
    deadline = time.monotonic() + WAIT_SECONDS
    last_sent, last_change = -1, time.monotonic()
    while statuses() != {Status.SENT: BATCH}:
        assert time.monotonic() < deadline, f"not all delivered: {statuses()}\n{log_path.read_text()[-4000:]}"
        assert second.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
        sent = statuses().get(Status.SENT, 0)
        if sent != last_sent:
            last_sent, last_change = sent, time.monotonic()
        elif time.monotonic() - last_change > 1.0:
            advance_clock(301)
            sweeps.append(outbox_sweep())
            last_change = time.monotonic()
        time.sleep(0.05)

    assert len(sweeps) <= 2, sweeps
    assert sink.wait_for(BATCH, timeout=5)
    received = sink.message_ids()
    assert set(received) == {email.message_id for email in emails}  # nothing lost
    duplicates = sink.duplicates()
    # At least once: a message in flight at the kill may arrive twice, nothing else may.
    assert duplicates <= 1, received
    with capsys.disabled():
        print(f"\n  killed after {delivered_before_restart}/{BATCH} delivered; claimed rows at the kill: "
              f"{in_flight}; sweeps needed: {sweeps}; all {BATCH} delivered; duplicates by Message-ID: {duplicates}")

"""A real Celery worker process on Redis delivering webhooks to a real receiver; killed mid-batch.

Runs in .ci/run (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL set). The worker uses pytest-django's test
database and a queue of its own; the sweeper runs here, in the test process, as beat would run it.
"""

import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import F

from audit.services import audit_record
from config.celery import app
from config.tests.test_services import require_env, worker_database_url
from directory.tests.factories import OrganizationFactory
from emailqueue.tests.worker import kill_worker, start_worker, stop_worker
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create
from webhooks.tasks import webhook_sweep

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
Status = WebhookDelivery.Status
BATCH = 60
WAIT_SECONDS = 60


@pytest.fixture
def endpoint(receiver, settings):
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = True
    org = OrganizationFactory(slug="hooked")
    endpoint, secret = webhook_endpoint_create(org=org, url=receiver.url, events=["group.created"], actor=None)
    receiver.secret = secret
    return endpoint


@pytest.fixture
def workers(settings, tmp_path):
    database_url = require_env("DATABASE_URL")
    broker_url = require_env("CELERY_BROKER_URL")
    assert broker_url.startswith("redis://")
    queue = f"gatehouse-test-webhooks-{uuid.uuid4().hex[:12]}"
    settings.GATEHOUSE_WEBHOOKS_QUEUE = queue
    env = {
        "DATABASE_URL": worker_database_url(database_url, connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE": "true",  # the receiver is on 127.0.0.1
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


def record_batch(org, n: int) -> None:
    with transaction.atomic():  # deliveries are handed to the broker when this commits
        for i in range(n):
            audit_record(action="group.created", org=org, metadata={"name": f"group {i}"})


def statuses() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in WebhookDelivery.objects.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def advance_clock(seconds: float) -> None:
    delta = timedelta(seconds=seconds)
    WebhookDelivery.objects.update(next_attempt_at=F("next_attempt_at") - delta)
    WebhookDelivery.objects.filter(dispatched_at__isnull=False).update(dispatched_at=F("dispatched_at") - delta)
    WebhookDelivery.objects.filter(claimed_at__isnull=False).update(claimed_at=F("claimed_at") - delta)


def wait_until(condition, what: str, log_path, processes=()) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            assert process.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen in {WAIT_SECONDS}s:\n{log_path.read_text()[-4000:]}")


def test_a_worker_delivers_signed_events_that_the_receiver_verifies(workers, endpoint, receiver):
    start, log_path = workers
    worker = start()
    record_batch(endpoint.org, 10)
    wait_until(lambda: statuses() == {Status.SENT: 10}, "delivery of the batch", log_path, [worker])
    assert receiver.rejected == []
    assert sorted(p["data"]["metadata"]["name"] for p in receiver.payloads()) == sorted(f"group {i}" for i in range(10))
    assert set(receiver.ids()) == set(WebhookDelivery.objects.values_list("message_id", flat=True))


def test_a_worker_killed_mid_batch_loses_nothing(workers, endpoint, receiver, capsys):
    start, log_path = workers
    receiver.delay = 0.02  # slow enough that the kill lands mid-batch, with a delivery in flight
    record_batch(endpoint.org, BATCH)
    first = start()
    wait_until(lambda: len(receiver.ids()) >= BATCH // 3, "the first third", log_path, [first])
    kill_worker(first)
    delivered_before_restart = len(set(receiver.ids()))
    assert delivered_before_restart < BATCH

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
            advance_clock(61)  # the redispatch delay (webhooks/delivery.py) and the sending lease: a minute
            sweeps.append(webhook_sweep())
            last_change = time.monotonic()
        time.sleep(0.05)

    ids = receiver.ids()
    assert set(ids) == set(WebhookDelivery.objects.values_list("message_id", flat=True))  # nothing lost
    duplicates = len(ids) - len(set(ids))
    assert duplicates <= 1, ids  # at least once: only a delivery in flight at the kill may arrive twice
    assert receiver.rejected == []
    with capsys.disabled():
        print(f"\n  killed after {delivered_before_restart}/{BATCH} delivered; sweeps: {sweeps}; all {BATCH} "
              f"delivered; duplicates by webhook-id: {duplicates}")

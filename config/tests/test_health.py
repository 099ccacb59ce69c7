"""Liveness and readiness probes: healthy on the embedded shape, and naming what is down."""

import pytest

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: a connection there is refused at once, so these tests need no service.
DEAD_REDIS = "redis://127.0.0.1:1/0"
DEAD_BROKER = "redis://127.0.0.1:1/1"


@pytest.fixture
def embedded_shape(settings, tmp_path):
    """The embedded default whatever the environment says: no Redis, a filesystem broker in tmp_path."""
    queue = tmp_path / "queue"
    queue.mkdir()
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(queue), "data_folder_out": str(queue)}
    return settings


def test_live_answers_without_checking_dependencies(client, settings):
    settings.REDIS_URL = DEAD_REDIS
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_on_the_embedded_default(client, embedded_shape):
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_names_a_stopped_redis(client, embedded_shape):
    embedded_shape.REDIS_URL = DEAD_REDIS
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["redis: ConnectionError"]}


def test_ready_names_a_stopped_broker(client, embedded_shape):
    embedded_shape.CELERY_BROKER_URL = DEAD_BROKER
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert len(body["failing"]) == 1
    assert body["failing"][0].startswith("broker: ")


def test_ready_names_each_failing_part(client, embedded_shape):
    embedded_shape.REDIS_URL = DEAD_REDIS
    embedded_shape.CELERY_BROKER_URL = DEAD_BROKER
    response = client.get("/health/ready")
    assert response.status_code == 503
    failing = response.json()["failing"]
    assert [problem.split(":")[0] for problem in failing] == ["redis", "broker"]


def test_ready_creates_a_missing_filesystem_queue(client, embedded_shape, tmp_path):
    """A fresh install is ready before its first task: the folder is made when it can be."""
    folder = tmp_path / "fresh" / "queue"
    embedded_shape.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(folder)}
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert folder.is_dir()


def test_ready_names_a_filesystem_queue_that_cannot_be_made(client, embedded_shape, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the broker folder should be")
    embedded_shape.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(blocker / "queue")}
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker: filesystem queue folder cannot be created"]


def test_probes_answer_get_only(client, embedded_shape):
    assert client.post("/health/live").status_code == 405
    assert client.post("/health/ready").status_code == 405

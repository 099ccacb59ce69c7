from django.apps import AppConfig


class EmailqueueConfig(AppConfig):
    name = "emailqueue"
    verbose_name = "Email queue"

    def ready(self) -> None:
        # Registers the delivery tasks, which services hand to the broker by name (config.celery.registered_task).
        from emailqueue import tasks  # noqa: F401

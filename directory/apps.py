from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Directory"

    def ready(self) -> None:
        # Registers the CSV import tasks, which services hand to the broker by name (config.celery.registered_task).
        from directory import tasks  # noqa: F401

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        # Registers the retention purge task for beat (config/celery.py names it).
        from audit import tasks  # noqa: F401

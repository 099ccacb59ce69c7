"""The management REST API at /api/v1/ (Django REST framework, drf-spectacular)."""
from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Management API"

    def ready(self) -> None:
        # drf-spectacular finds extensions by their registration at import; nothing else imports this module.
        from api import schema  # noqa: F401

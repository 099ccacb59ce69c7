from django.apps import AppConfig


class EmailqueueConfig(AppConfig):
    name = "emailqueue"
    verbose_name = "Email queue"

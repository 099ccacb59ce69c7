from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "identity.mfa"
    label = "mfa"
    verbose_name = "Multi-factor authentication"

from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "identity.passkeys"
    label = "passkeys"
    verbose_name = "Passkeys"

"""The smallest Django project that runs the SDK's middleware, decorators and DRF views."""

SECRET_KEY = "gatehouse-sdk-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "tests.django_app"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
DATABASES: dict = {}
MIDDLEWARE = ["gatehouse_sdk.django.GatehouseMiddleware"]
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["gatehouse_sdk.drf.GatehouseAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}
# Each test points this at its own live issuer (tests/test_django.py).
GATEHOUSE_SDK = {"ISSUER": "http://127.0.0.1:9", "AUDIENCE": "https://api.example.test"}

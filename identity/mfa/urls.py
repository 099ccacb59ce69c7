from django.urls import path  # noqa: F401 (the app's views join here)

urlpatterns: list = []

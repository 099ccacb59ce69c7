"""Console routes for API keys, included under /console/<org_slug>/api-keys/ (console namespace)."""

from django.urls import path

from applications import apikey_views as views

urlpatterns = [
    path("", views.ApiKeyListView.as_view(), name="apikey-list"),
    path("new", views.ApiKeyCreateView.as_view(), name="apikey-create"),
    path("<int:pk>/revoke", views.ApiKeyRevokeView.as_view(), name="apikey-revoke"),
    path("<int:pk>/deactivate", views.ApiKeyDeactivateView.as_view(), name="apikey-deactivate"),
    path("<int:pk>/reactivate", views.ApiKeyReactivateView.as_view(), name="apikey-reactivate"),
    path("<int:pk>/delete", views.ApiKeyDeleteView.as_view(), name="apikey-delete"),
]

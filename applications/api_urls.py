"""Console routes for registered APIs, included under /console/<org_slug>/apis/ (console namespace)."""

from django.urls import path

from applications import api_views as views

urlpatterns = [
    path("", views.ApiListView.as_view(), name="api-list"),
    path("new", views.ApiCreateView.as_view(), name="api-create"),
    path("<int:pk>/", views.ApiDetailView.as_view(), name="api-detail"),
    path("<int:pk>/edit", views.ApiUpdateView.as_view(), name="api-edit"),
    path("<int:pk>/delete", views.ApiDeleteView.as_view(), name="api-delete"),
    path("<int:pk>/rotate-secret", views.ApiSecretRotateView.as_view(), name="api-secret-rotate"),
]

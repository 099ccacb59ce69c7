"""An org's webhooks, under /console/<org_slug>/webhooks/ (included by orgs/urls.py, namespace console)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("", views.WebhookListView.as_view(), name="webhook-list"),
    path("new", views.WebhookCreateView.as_view(), name="webhook-create"),
    path("<int:pk>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path("<int:pk>/edit", views.WebhookEditView.as_view(), name="webhook-edit"),
    path("<int:pk>/disable", views.WebhookStatusView.as_view(active=False), name="webhook-disable"),
    path("<int:pk>/enable", views.WebhookStatusView.as_view(active=True), name="webhook-enable"),
    path("<int:pk>/test", views.WebhookTestView.as_view(), name="webhook-test"),
    path("<int:pk>/secret", views.WebhookSecretView.as_view(), name="webhook-secret"),
    path("<int:pk>/delete", views.WebhookDeleteView.as_view(), name="webhook-delete"),
    path("<int:pk>/deliveries/<int:delivery_pk>/", views.WebhookDeliveryView.as_view(), name="webhook-delivery"),
    path("<int:pk>/deliveries/<int:delivery_pk>/requeue", views.WebhookDeliveryRequeueView.as_view(),
         name="webhook-delivery-requeue"),
]

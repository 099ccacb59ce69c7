"""Every org's email queue and the platform's own mail, under /console/platform/emails/ (operators)."""

from django.urls import path

from emailqueue import views

urlpatterns = [
    path("", views.PlatformEmailListView.as_view(), name="platform-email-list"),
    path("<int:pk>/", views.PlatformEmailDetailView.as_view(), name="platform-email-detail"),
    path("<int:pk>/requeue", views.PlatformEmailRequeueView.as_view(), name="platform-email-requeue"),
    path("<int:pk>/cancel", views.PlatformEmailCancelView.as_view(), name="platform-email-cancel"),
]

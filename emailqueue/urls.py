"""An org's email queue, under /console/<org_slug>/emails/ (included by orgs/urls.py, namespace console)."""

from django.urls import path

from emailqueue import views

urlpatterns = [
    path("", views.EmailListView.as_view(), name="email-list"),
    path("<int:pk>/", views.EmailDetailView.as_view(), name="email-detail"),
    path("<int:pk>/requeue", views.EmailRequeueView.as_view(), name="email-requeue"),
    path("<int:pk>/cancel", views.EmailCancelView.as_view(), name="email-cancel"),
]

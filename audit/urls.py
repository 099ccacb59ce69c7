"""An org's audit log, under /console/<org_slug>/audit/ (included by orgs/urls.py, namespace console)."""

from django.urls import path

from audit import views

urlpatterns = [
    path("", views.AuditListView.as_view(), name="audit-list"),
    path("<int:pk>/", views.AuditDetailView.as_view(), name="audit-detail"),
    path("export", views.AuditExportView.as_view(), name="audit-export"),
    path("retention", views.AuditRetentionView.as_view(), name="audit-retention"),
]

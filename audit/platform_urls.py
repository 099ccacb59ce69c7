"""Every audit event, platform events included, under /console/platform/audit/ (operators)."""

from django.urls import path

from audit import views

urlpatterns = [
    path("", views.PlatformAuditListView.as_view(), name="platform-audit-list"),
    path("<int:pk>/", views.PlatformAuditDetailView.as_view(), name="platform-audit-detail"),
    path("export", views.PlatformAuditExportView.as_view(), name="platform-audit-export"),
]

"""Console routes for org settings, included under /console/<org_slug>/settings/ (console namespace)."""

from django.urls import path

from orgs import settings_views as views

urlpatterns = [
    path("", views.OrgSettingsView.as_view(), name="org-settings"),
    path("branding", views.OrgBrandingView.as_view(), name="org-branding"),
]

"""Public routes for org branding, included at /branding/ (namespace: branding)."""

from django.urls import path

from orgs import branding_views as views

app_name = "branding"

urlpatterns = [
    path("<slug:org_slug>/style.css", views.org_stylesheet, name="style"),
    path("<slug:org_slug>/logo", views.org_logo, name="logo"),
]

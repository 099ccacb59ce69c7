"""Console routes for CSV imports and the users export, under /console/<org_slug>/imports/ (console namespace)."""

from django.urls import path

from directory import import_views as views

urlpatterns = [
    path("", views.ImportListView.as_view(), name="import-list"),
    path("new", views.ImportNewView.as_view(), name="import-new"),
    path("template.csv", views.ImportTemplateView.as_view(), name="import-template"),
    path("export.csv", views.UserExportView.as_view(), name="user-export"),
    path("<uuid:public_id>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("<uuid:public_id>/progress", views.ImportProgressView.as_view(), name="import-progress"),
    path("<uuid:public_id>/confirm", views.ImportConfirmView.as_view(), name="import-confirm"),
    path("<uuid:public_id>/cancel", views.ImportCancelView.as_view(), name="import-cancel"),
    path("<uuid:public_id>/results.csv", views.ImportResultsView.as_view(), name="import-results"),
]

from django.urls import include, path

from orgs import platform_views, views

app_name = "console"
urlpatterns = [
    path("", views.console_home, name="home"),
    path("platform/", views.PlatformOrgListView.as_view(), name="platform-orgs"),
    path("platform/overview", views.PlatformOverviewView.as_view(), name="platform-overview"),
    path("platform/orgs/new", platform_views.PlatformOrgCreateView.as_view(), name="platform-org-create"),
    path("platform/users/", platform_views.PlatformUserSearchView.as_view(), name="platform-users"),
    path("platform/orgs/<slug:slug>/suspend",
         views.PlatformOrgStatusView.as_view(action="suspend"), name="platform-org-suspend"),
    path("platform/orgs/<slug:slug>/reactivate",
         views.PlatformOrgStatusView.as_view(action="reactivate"), name="platform-org-reactivate"),
    path("platform/emails/", include("emailqueue.platform_urls")),
    path("platform/audit/", include("audit.platform_urls")),
    path("<slug:org_slug>/", views.OrgOverviewView.as_view(), name="org-overview"),
    path("<slug:org_slug>/emails/", include("emailqueue.urls")),
    path("<slug:org_slug>/users/", include("directory.user_urls")),
    path("<slug:org_slug>/groups/", include("directory.group_urls")),
    path("<slug:org_slug>/audit/", include("audit.urls")),
    path("<slug:org_slug>/applications/", include("applications.app_urls")),
    path("<slug:org_slug>/settings/", include("orgs.settings_urls")),
    path("<slug:org_slug>/api-keys/", include("applications.apikey_urls")),
    path("<slug:org_slug>/apis/", include("applications.api_urls")),
    path("<slug:org_slug>/imports/", include("directory.import_urls")),
    path("<slug:org_slug>/webhooks/", include("webhooks.urls")),
]

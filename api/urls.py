"""The management API under /api/: v1 resources, the OpenAPI schema and its docs page; anything else is a
problem+json 404."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api.base import NotFoundView
from api.views import api_keys, apis, app_users, applications, groups, org_settings, platform, records, users

org = "v1/orgs/<slug:org_slug>"

urlpatterns = [
    path("v1/schema", SpectacularJSONAPIView.as_view(), name="api-schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
         name="api-docs"),
    path(f"{org}/users", users.MemberListView.as_view(), name="api-users"),
    path(f"{org}/users/<int:user_id>", users.MemberDetailView.as_view(), name="api-user"),
    path(f"{org}/users/<int:user_id>/password-reset", users.MemberPasswordResetView.as_view(),
         name="api-user-password-reset"),
    path(f"{org}/users/<int:user_id>/unlock", users.MemberUnlockView.as_view(), name="api-user-unlock"),
    path(f"{org}/users/<int:user_id>/sessions/end", users.MemberSessionsEndView.as_view(),
         name="api-user-sessions-end"),
    path(f"{org}/users/<int:user_id>/invitation", users.MemberInvitationResendView.as_view(),
         name="api-user-invitation"),
    path(f"{org}/groups", groups.GroupListView.as_view(), name="api-groups"),
    path(f"{org}/groups/<int:group_id>", groups.GroupDetailView.as_view(), name="api-group"),
    path(f"{org}/groups/<int:group_id>/members", groups.GroupMembersView.as_view(), name="api-group-members"),
    path(f"{org}/groups/<int:group_id>/members/<int:user_id>", groups.GroupMemberView.as_view(),
         name="api-group-member"),
    path(f"{org}/api-keys", api_keys.ApiKeyListView.as_view(), name="api-api-keys"),
    path(f"{org}/api-keys/<int:key_id>", api_keys.ApiKeyDetailView.as_view(), name="api-api-key"),
    path(f"{org}/api-keys/<int:key_id>/revoke", api_keys.ApiKeyRevokeView.as_view(), name="api-api-key-revoke"),
    path(f"{org}/api-keys/<int:key_id>/deactivate", api_keys.ApiKeyDeactivateView.as_view(),
         name="api-api-key-deactivate"),
    path(f"{org}/api-keys/<int:key_id>/reactivate", api_keys.ApiKeyReactivateView.as_view(),
         name="api-api-key-reactivate"),
    path(f"{org}/audit-events", records.AuditEventListView.as_view(), name="api-audit-events"),
    path(f"{org}/audit-events/<int:event_id>", records.AuditEventDetailView.as_view(), name="api-audit-event"),
    path(f"{org}/email", records.EmailListView.as_view(), name="api-emails"),
    path(f"{org}/email/<int:email_id>", records.EmailDetailView.as_view(), name="api-email"),
    path(f"{org}/email/<int:email_id>/requeue", records.EmailRequeueView.as_view(), name="api-email-requeue"),
    path(f"{org}/email/<int:email_id>/cancel", records.EmailCancelView.as_view(), name="api-email-cancel"),
    path(f"{org}/applications", applications.ApplicationListView.as_view(), name="api-applications"),
    path(f"{org}/applications/<int:app_id>", applications.ApplicationDetailView.as_view(), name="api-application"),
    path(f"{org}/applications/<int:app_id>/secret", applications.ApplicationSecretView.as_view(),
         name="api-application-secret"),
    path(f"{org}/applications/<int:app_id>/disable", applications.ApplicationDisableView.as_view(),
         name="api-application-disable"),
    path(f"{org}/applications/<int:app_id>/enable", applications.ApplicationEnableView.as_view(),
         name="api-application-enable"),
    path(f"{org}/applications/<int:app_id>/roles", applications.AppRoleListView.as_view(), name="api-app-roles"),
    path(f"{org}/applications/<int:app_id>/roles/<int:role_id>", applications.AppRoleDetailView.as_view(),
         name="api-app-role"),
    path(f"{org}/apis", apis.RegisteredApiListView.as_view(), name="api-apis"),
    path(f"{org}/apis/<int:api_id>", apis.RegisteredApiDetailView.as_view(), name="api-api"),
    path(f"{org}/apis/<int:api_id>/secret", apis.RegisteredApiSecretView.as_view(), name="api-api-secret"),
    path(f"{org}/applications/<int:app_id>/api-scopes", apis.ApplicationApiScopesView.as_view(),
         name="api-application-api-scopes"),
    path(f"{org}/settings", org_settings.OrgSettingsView.as_view(), name="api-settings"),
    path(f"{org}/password-policy", org_settings.PasswordPolicyView.as_view(), name="api-password-policy"),
    path("v1/platform/organizations", platform.OrganizationListView.as_view(), name="api-platform-orgs"),
    path("v1/platform/organizations/<slug:slug>", platform.OrganizationDetailView.as_view(), name="api-platform-org"),
    path("v1/platform/organizations/<slug:slug>/suspend", platform.OrganizationSuspendView.as_view(),
         name="api-platform-org-suspend"),
    path("v1/platform/organizations/<slug:slug>/reactivate", platform.OrganizationReactivateView.as_view(),
         name="api-platform-org-reactivate"),
    path("v1/platform/audit-events", platform.PlatformAuditView.as_view(), name="api-platform-audit"),
    path("v1/app/users", app_users.AppUsersView.as_view(), name="api-app-users"),
    path("v1/app/users/lookup", app_users.AppUserLookupView.as_view(), name="api-app-users-lookup"),
    # [\s\S], not ".": a path with a newline in it must reach this too.
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="api-not-found"),
]

"""Console routes, included under /console/<org_slug>/ by orgs/urls.py (names live in the console namespace)."""

from django.urls import path

from directory import member_mfa_views, member_views, verification_views
from directory import user_views as views

urlpatterns = [
    path("", views.UserListView.as_view(), name="user-list"),
    path("new", views.UserCreateView.as_view(), name="user-create"),
    path("<int:pk>/", views.UserDetailView.as_view(), name="user-detail"),
    path("<int:pk>/edit", views.UserProfileEditView.as_view(), name="user-edit"),
    path("<int:pk>/email", views.UserEmailChangeView.as_view(), name="user-email"),
    path("<int:pk>/remove", views.UserRemoveView.as_view(), name="user-remove"),
    path("<int:pk>/role", views.UserRoleChangeView.as_view(), name="user-role"),
    path("<int:pk>/suspend", views.UserSuspendView.as_view(), name="user-suspend"),
    path("<int:pk>/reactivate", views.UserReactivateView.as_view(), name="user-reactivate"),
    path("<int:pk>/resend-invitation", views.UserInvitationResendView.as_view(), name="user-resend-invitation"),
    path("<int:pk>/unlock", views.UserUnlockView.as_view(), name="user-unlock"),
    path("<int:pk>/password-reset", views.UserPasswordResetView.as_view(), name="user-password-reset"),
    path("<int:pk>/require-password-change", views.UserPasswordChangeRequireView.as_view(),
         name="user-require-password-change"),
    path("<int:pk>/employee-id", member_views.MembershipEmployeeIdView.as_view(), name="user-employee-id"),
    path("<int:pk>/email-verification", verification_views.UserEmailVerificationSendView.as_view(),
         name="user-email-verification-send"),
    path("<int:pk>/sessions/end", member_views.MemberSessionsEndView.as_view(), name="user-sessions-end"),
    path("<int:pk>/mfa/reset", member_mfa_views.MemberMfaResetView.as_view(), name="user-mfa-reset"),
]

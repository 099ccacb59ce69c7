"""Console routes for applications, included under /console/<org_slug>/applications/ (console namespace)."""

from django.urls import path

from applications import views
from identity.backchannel import views as backchannel_views

urlpatterns = [
    path("", views.ApplicationListView.as_view(), name="app-list"),
    path("new", views.ApplicationKindChoiceView.as_view(), name="app-kind-choice"),
    path("new/<str:kind>", views.ApplicationCreateView.as_view(), name="app-create"),
    path("<int:pk>/", views.ApplicationDetailView.as_view(), name="app-detail"),
    path("<int:pk>/edit", views.ApplicationUpdateView.as_view(), name="app-edit"),
    path("<int:pk>/disable", views.ApplicationStatusView.as_view(action="disable"), name="app-disable"),
    path("<int:pk>/enable", views.ApplicationStatusView.as_view(action="enable"), name="app-enable"),
    path("<int:pk>/rotate-secret", views.ApplicationSecretRotateView.as_view(), name="app-secret-rotate"),
    path("<int:pk>/end-secret-overlap", views.ApplicationSecretOverlapEndView.as_view(), name="app-secret-overlap-end"),
    path("<int:pk>/delete", views.ApplicationDeleteView.as_view(), name="app-delete"),
    path("<int:pk>/api-access", views.ApplicationApiAccessView.as_view(), name="app-api-access"),
    path("<int:pk>/backchannel-logouts", backchannel_views.BackchannelLogoutListView.as_view(),
         name="app-backchannel-logouts"),
    path("<int:pk>/backchannel-logouts/<int:delivery_pk>/requeue",
         backchannel_views.BackchannelLogoutRequeueView.as_view(), name="app-backchannel-logout-requeue"),
    path("<int:pk>/roles/new", views.AppRoleCreateView.as_view(), name="app-role-create"),
    path("<int:pk>/roles/<int:role_pk>/edit", views.AppRoleUpdateView.as_view(), name="app-role-edit"),
    path("<int:pk>/roles/<int:role_pk>/delete", views.AppRoleDeleteView.as_view(), name="app-role-delete"),
]

"""Console routes, included under /console/<org_slug>/ by orgs/urls.py (names live in the console namespace)."""

from django.urls import path

from directory import group_views as views

urlpatterns = [
    path("", views.GroupListView.as_view(), name="group-list"),
    path("new", views.GroupCreateView.as_view(), name="group-create"),
    path("<int:pk>/", views.GroupDetailView.as_view(), name="group-detail"),
    path("<int:pk>/edit", views.GroupUpdateView.as_view(), name="group-edit"),
    path("<int:pk>/delete", views.GroupDeleteView.as_view(), name="group-delete"),
    path("<int:pk>/members/add", views.GroupMembersAddView.as_view(), name="group-members-add"),
    path("<int:pk>/members/<int:user_id>/remove", views.GroupMemberRemoveView.as_view(),
         name="group-member-remove"),
]

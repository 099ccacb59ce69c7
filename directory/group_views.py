"""Console pages for an org's groups: list, create, detail, edit, delete, add and remove members.

Every view inherits OrgPermissionMixin (the org comes from the URL, the permission is declared) and
reads a single group through group_get(org=…), so another org's group is a 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, ListView, TemplateView, View

from config.exceptions import DomainError
from directory.group_forms import GroupCreateForm, GroupEditForm, GroupMembersAddForm
from directory.group_selectors import group_delete_impact, group_list_with_counts, group_memberships
from directory.models import Group, GroupMembership
from directory.selectors import group_get
from directory.services import group_create, group_delete, group_member_remove, group_members_add, group_update
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirm_first
from orgs.mixins import OrgPermissionMixin

MEMBERS_PER_PAGE = 100


def _group_url(name: str, group: Group) -> str:
    return reverse(f"console:{name}", kwargs={"org_slug": group.org.slug, "pk": group.pk})


class _GroupMixin:
    """The group named by the URL, within this view's org only."""

    @cached_property
    def group(self) -> Group:
        group = group_get(org=self.org, pk=self.kwargs["pk"])
        group.org = self.org
        return group

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["group"] = self.group
        context["can_manage"] = "groups.manage" in self.org_permissions
        return context


class GroupListView(OrgPermissionMixin, ListView):
    permission = "groups.view"
    template_name = "directory/groups/group_list.html"
    context_object_name = "groups"

    def get_queryset(self):
        return group_list_with_counts(org=self.org)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_manage"] = "groups.manage" in self.org_permissions
        return context


class GroupCreateView(OrgPermissionMixin, FormView):
    permission = "groups.manage"
    template_name = "directory/groups/group_create.html"
    form_class = GroupCreateForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            group = group_create(org=self.org, name=data["name"], slug=data["slug"],
                                 description=data["description"], actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Created the group %(name)s.") % {"name": group.name})
        return redirect(_group_url("group-detail", group))


class GroupDetailView(OrgPermissionMixin, _GroupMixin, TemplateView):
    permission = "groups.view"
    template_name = "directory/groups/group_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(group_memberships(group=self.group), MEMBERS_PER_PAGE).get_page(self.request.GET.get("page"))
        impact = group_delete_impact(group=self.group)
        context.update(
            page=page,
            limited_apps=impact.limited_apps,
            app_roles=impact.app_roles,
            add_form=GroupMembersAddForm(org=self.org),
        )
        return context


class GroupUpdateView(OrgPermissionMixin, _GroupMixin, FormView):
    permission = "groups.manage"
    template_name = "directory/groups/group_edit.html"
    form_class = GroupEditForm

    def get_initial(self):
        return {"name": self.group.name, "description": self.group.description}

    def form_valid(self, form):
        try:
            group = group_update(group=self.group, name=form.cleaned_data["name"],
                                 description=form.cleaned_data["description"],
                                 actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the group %(name)s.") % {"name": group.name})
        return redirect(_group_url("group-detail", self.group))


@step_up_required("group.delete", ask_on_get=True)
class GroupDeleteView(OrgPermissionMixin, _GroupMixin, TemplateView):
    """GET: a confirmation page naming the impact. POST: delete, unless an app would be opened up."""

    permission = "groups.manage"
    template_name = "directory/groups/group_delete.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["impact"] = group_delete_impact(group=self.group)
        return context

    def post(self, request, *args, **kwargs):
        try:
            group_delete(group=self.group, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_group_url("group-delete", self.group))
        messages.success(request, _("Deleted the group %(name)s.") % {"name": self.group.name})
        return redirect("console:group-list", org_slug=self.org.slug)


class GroupMembersAddView(OrgPermissionMixin, _GroupMixin, FormView):
    permission = "groups.manage"
    template_name = "directory/groups/group_members_add.html"
    form_class = GroupMembersAddForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org}

    def form_valid(self, form):
        try:
            added = group_members_add(group=self.group, users=form.users, actor=self.request.user,
                                      request=self.request)
        except DomainError as exc:
            # A membership ended between validation and saving; nothing was added.
            form.add_error("emails", exc.message)
            return self.form_invalid(form)
        skipped = len(form.users) - len(added)
        if added:
            messages.success(self.request, ngettext(
                "Added %(n)d person to %(group)s: %(emails)s. They were told by email.",
                "Added %(n)d people to %(group)s: %(emails)s. They were told by email.", len(added),
            ) % {"n": len(added), "group": self.group.name, "emails": ", ".join(u.email for u in added)})
        if skipped:
            messages.info(self.request, ngettext(
                "%(n)d person was already in the group.", "%(n)d people were already in the group.", skipped,
            ) % {"n": skipped})
        return redirect(_group_url("group-detail", self.group))


@confirm_first
class GroupMemberRemoveView(OrgPermissionMixin, _GroupMixin, View):
    """Take one person out of the group, after a page naming the apps and app roles they lose with it.
    Someone not in it is a 404."""

    permission = "groups.manage"
    http_method_names = ["post"]

    def _membership(self) -> GroupMembership:
        return get_object_or_404(
            GroupMembership.objects.select_related("user"), group=self.group, user_id=self.kwargs["user_id"])

    def confirmation(self) -> Confirmation:
        user = self._membership().user
        impact = group_delete_impact(group=self.group)
        # What another of their groups in this org still gives them is not lost.
        kept_by = GroupMembership.objects.filter(user=user, group__org=self.org).exclude(group=self.group)
        other_groups = kept_by.values("group_id")
        lost_apps = [app.name for app in impact.limited_apps
                     if not app.allowed_groups.filter(pk__in=other_groups).exists()]
        lost_roles = [f"{role.key} ({role.application.name})" for role in impact.app_roles
                      if not role.groups.filter(pk__in=other_groups).exists()]
        names = {"email": user.email, "group": self.group.name}
        consequences = [_("%(email)s leaves the group %(group)s and is told by email.") % names]
        if lost_apps:
            consequences.append(_("They can no longer sign in to these applications, limited to groups they are "
                                  "no longer in: %(apps)s.") % {"apps": ", ".join(lost_apps)})
        else:
            consequences.append(_("They keep access to every application: none is limited to this group alone "
                                  "for them."))
        if lost_roles:
            consequences.append(_("They no longer receive these app roles: %(roles)s.")
                                % {"roles": ", ".join(lost_roles)})
        consequences.append(_("Tokens already issued keep the group until they expire."))
        return Confirmation(
            title=_("Remove %(email)s from the group %(group)s?") % names,
            consequences=consequences,
            button=_("Remove %(email)s from %(group)s") % names,
            cancel_url=_group_url("group-detail", self.group),
        )

    def post(self, request, *args, **kwargs):
        membership = self._membership()
        group_member_remove(group=self.group, user=membership.user, actor=request.user, request=request)
        messages.success(request, _("Removed %(email)s from %(group)s. They were told by email.")
                         % {"email": membership.user.email, "group": self.group.name})
        return redirect(_group_url("group-detail", self.group))

"""The console's users pages (/console/<org>/users/): list, invite, detail, and the actions on a member.

Every page reads through the org (OrgPermissionMixin and org_member_get), so another org's user is a
404. Views stay thin: the services enforce the rules (last owner, identity-level actions only for
users who belong to this org alone) and write the audit rows; a refusal becomes a message.

The account behind a membership (its name, verified address, lock, sessions, applications, and the
actions on it) is shown and acted on only while the membership is active (issue #10): an invitation
not yet accepted may name someone else's account, and nothing about it may reach this org.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView, View

from applications.token_selectors import live_token_count
from audit.models import AuditEvent
from config.exceptions import DomainError
from directory.email_change_services import user_email_change_request
from directory.member_forms import EmployeeIdForm
from directory.member_selectors import membership_invitation, user_reachable_applications, user_session_summary
from directory.models import User
from directory.selectors import (
    org_member_get,
    user_belongs_to_org_alone,
    user_groups_in_org,
    user_list,
    user_page,
)
from directory.services import (
    normalize_email,
    user_password_change_require,
    user_password_reset_send,
    user_profile_update,
)
from directory.user_forms import (
    RoleChangeForm,
    UserEmailChangeForm,
    UserFilterForm,
    UserInviteForm,
    UserProfileForm,
)
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirm_first
from orgs.mixins import OrgPermissionMixin
from orgs.models import Membership
from orgs.services import (
    invitation_resend,
    member_invite,
    membership_reactivate,
    membership_remove,
    membership_role_change,
    membership_suspend,
)
from security.selectors import account_locked_until
from security.services import account_unlock

RECENT_EVENTS = 20
ACCOUNT_NOT_YET = _lazy("Account actions are available once the membership is active.")


def _detail_url(org, user_pk) -> str:
    return reverse("console:user-detail", kwargs={"org_slug": org.slug, "pk": user_pk})


class _MemberMixin:
    """Finds the member named in the URL, and refuses to let an admin act on an owner."""

    def get_membership(self) -> Membership:
        return org_member_get(org=self.org, user_pk=self.kwargs["pk"])

    def may_manage(self, membership: Membership) -> bool:
        """Admins manage everyone but owners; owners (and operators) manage everyone."""
        if "members.manage" not in self.org_permissions:
            return False
        return membership.role != Membership.Role.OWNER or "owners.manage" in self.org_permissions

    def check_may_manage(self, membership: Membership) -> None:
        if not self.may_manage(membership):
            raise PermissionDenied(_("Only an owner can change an owner's membership or account."))

    def account_refused(self, membership: Membership):
        """None while the membership is active; else the one answer every account action gets, whoever the
        account is (no account yet, another org's, an operator's), back on the member's page."""
        if membership.status == Membership.Status.ACTIVE:
            return None
        messages.error(self.request, str(ACCOUNT_NOT_YET))
        return redirect(_detail_url(self.org, membership.user_id))


class UserListView(OrgPermissionMixin, TemplateView):
    permission = "members.view"
    template_name = "directory/users/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = UserFilterForm(self.request.GET or None, org=self.org)
        # Invalid filters are shown with their errors and not applied.
        filters = form.cleaned_data if form.is_valid() else {}
        sort = filters.get("sort") or "email"
        memberships = user_list(org=self.org, query=filters.get("q") or None, status=filters.get("status") or None,
                                role=filters.get("role") or None, group=filters.get("group"), sort=sort)
        page = user_page(memberships, sort=sort, after=filters.get("after"))
        kept = {
            name: (value.pk if name == "group" else value)
            for name, value in filters.items() if value and name not in ("after", "sort")
        }
        if sort != "email":
            kept["sort"] = sort
        list_url = reverse("console:user-list", kwargs={"org_slug": self.org.slug})
        context.update(
            form=form,
            filtered=bool({k for k in kept if k != "sort"}),
            rows=[(m, _detail_url(self.org, m.user_id)) for m in page.memberships],
            list_url=list_url,
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "after": page.next_after}) if page.next_after else "",
            is_first_page=not filters.get("after"),
            can_manage="members.manage" in self.org_permissions,
        )
        return context


class UserCreateView(OrgPermissionMixin, FormView):
    permission = "members.manage"
    template_name = "directory/users/create.html"
    form_class = UserInviteForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "org": self.org,
                "may_grant_owner": "owners.manage" in self.org_permissions}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            membership = member_invite(org=self.org, email=data["email"], role=data["role"],
                                       full_name=data["full_name"], groups=list(data["groups"]),
                                       actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        # The address as typed, not as an existing account spells it: the answer is the same either way.
        messages.success(self.request, _("Invited %(email)s: the invitation is on its way.")
                         % {"email": normalize_email(data["email"])})
        return redirect(_detail_url(self.org, membership.user_id))


class UserDetailView(OrgPermissionMixin, _MemberMixin, TemplateView):
    permission = "members.view"
    template_name = "directory/users/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        membership = self.get_membership()
        user = membership.user
        shows_account = membership.status == Membership.Status.ACTIVE
        about = Q(target_type=Membership._meta.label_lower, target_id=str(membership.pk))
        if membership.status != Membership.Status.INVITED:
            # Before acceptance, events about the account (a failed sign-in at this org's app, say) would
            # tell that it exists; the invitation's own events are this org's.
            about |= Q(target_type=User._meta.label_lower, target_id=str(user.pk))
        events = AuditEvent.objects.for_org(self.org).filter(about).order_by("-created_at", "-id")[:RECENT_EVENTS]
        context.update(
            member=user,
            membership=membership,
            shows_account=shows_account,
            groups=list(user_groups_in_org(org=self.org, user=user)),
            events=list(events),
            can_manage=self.may_manage(membership),
            role_form=RoleChangeForm(initial={"role": membership.role},
                                     may_grant_owner="owners.manage" in self.org_permissions),
            is_owner_protected=("members.manage" in self.org_permissions and not self.may_manage(membership)),
            employee_id_form=EmployeeIdForm(initial={"employee_id": membership.employee_id}),
        )
        if shows_account:
            context.update(
                locked_until=account_locked_until(user=user),
                org_alone=user_belongs_to_org_alone(org=self.org, user=user),
                # Apps follow the group rule; sign-in also needs the account in force.
                applications=user_reachable_applications(org=self.org, user=user),
                may_sign_in=user.is_active,
                sessions=user_session_summary(user=user),
            )
        else:
            context["account_not_yet"] = ACCOUNT_NOT_YET
            if membership.status == Membership.Status.INVITED:
                context.update(invitation=membership_invitation(membership=membership), now=timezone.now())
        return context


class _IdentityFormView(OrgPermissionMixin, _MemberMixin, FormView):
    """A form about one member's identity (profile, email): managers only, never on a protected owner, only
    while the membership is active, and the page says whether the person belongs to this org alone (else it
    is an operator's action)."""

    permission = "members.manage"

    def get(self, request, *args, **kwargs):
        self.membership = self.get_membership()
        self.check_may_manage(self.membership)
        return self.account_refused(self.membership) or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.membership = self.get_membership()
        self.check_may_manage(self.membership)
        return self.account_refused(self.membership) or super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(member=self.membership.user, membership=self.membership,
                       org_alone=user_belongs_to_org_alone(org=self.org, user=self.membership.user))
        return context


class UserProfileEditView(_IdentityFormView):
    template_name = "directory/users/edit.html"
    form_class = UserProfileForm

    def get_initial(self):
        return {"full_name": self.membership.user.full_name}

    def form_valid(self, form):
        try:
            user_profile_update(org=self.org, user=self.membership.user, full_name=form.cleaned_data["full_name"],
                                actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the profile of %(email)s.") % {"email": self.membership.user.email})
        return redirect(_detail_url(self.org, self.membership.user_id))


class UserEmailChangeView(_IdentityFormView):
    """Ask to move a member to a new address; it changes only when the new address confirms (DESIGN.md).
    The page never says "waiting for confirmation": that would tell whether the address has an account."""

    template_name = "directory/users/email.html"
    form_class = UserEmailChangeForm

    def form_valid(self, form):
        try:
            user_email_change_request(org=self.org, user=self.membership.user, new_email=form.cleaned_data["new_email"],
                                      actor=self.request.user, request=self.request)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        # The same words whether or not the address has an account (no enumeration).
        messages.success(self.request, _("A confirmation link was sent to the new address; the change takes effect "
                                         "when its owner confirms it."))
        return redirect(_detail_url(self.org, self.membership.user_id))


@step_up_required("membership.remove", ask_on_get=True)
class UserRemoveView(OrgPermissionMixin, _MemberMixin, TemplateView):
    """GET: a confirmation page naming what removal does. POST: remove the membership."""

    permission = "members.manage"
    template_name = "directory/users/remove.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        membership = self.get_membership()
        self.check_may_manage(membership)
        context.update(member=membership.user, membership=membership,
                       groups=list(user_groups_in_org(org=self.org, user=membership.user)))
        return context

    def post(self, request, *args, **kwargs):
        membership = self.get_membership()
        self.check_may_manage(membership)
        try:
            membership_remove(membership=membership, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(self.org, membership.user_id))
        messages.success(request, _("Removed %(email)s from %(org)s.")
                         % {"email": membership.user.email, "org": self.org.name})
        return redirect("console:user-list", org_slug=self.org.slug)


class _UserActionView(OrgPermissionMixin, _MemberMixin, View):
    """POST only: one service call on one member, a message, and back to their page."""

    http_method_names = ["post"]
    permission = "members.manage"
    on_account = False  # an action on the account behind the membership: only while it is active

    def perform(self, membership: Membership) -> str:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        membership = self.get_membership()
        self.check_may_manage(membership)
        refused = self.account_refused(membership) if self.on_account else None
        if refused is not None:
            return refused
        try:
            messages.success(request, self.perform(membership))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(_detail_url(self.org, membership.user_id))


@confirm_first
class UserSuspendView(_UserActionView):
    """Asks first: the page names what the member loses, the tokens revoked and the sessions ended."""

    def confirmation(self) -> Confirmation:
        membership = self.get_membership()
        self.check_may_manage(membership)
        user = membership.user
        email, org_name = user.email, self.org.name
        back = _detail_url(self.org, membership.user_id)
        title = _("Suspend the membership of %(email)s?") % {"email": email}
        button = _("Suspend %(email)s") % {"email": email}
        if membership.status == Membership.Status.SUSPENDED:
            return Confirmation(title=title, consequences=[], button=button, cancel_url=back,
                                refusal=_("The membership of %(email)s is already suspended.") % {"email": email})
        if membership.status != Membership.Status.ACTIVE:
            # Nothing about the account behind an invitation reaches this org (issue #10): no counts here.
            return Confirmation(title=title, consequences=[], button=button, cancel_url=back, refusal=_(
                "%(email)s has not accepted the invitation yet; remove it instead.") % {"email": email})
        sessions = user_session_summary(user=user).active
        tokens = live_token_count(org=self.org, user=user)
        cut_off = (_("%(email)s can no longer sign in to %(org)s's applications.")
                   if membership.role == Membership.Role.MEMBER else
                   _("%(email)s can no longer sign in to %(org)s's applications or use its console."))
        return Confirmation(
            title=title,
            consequences=[
                cut_off % {"email": email, "org": org_name},
                ngettext("%(n)d live token they hold for %(org)s's applications is revoked.",
                         "%(n)d live tokens they hold for %(org)s's applications are revoked.", tokens)
                % {"n": tokens, "org": org_name},
                ngettext("They are signed out everywhere: their %(n)d active session ends (one sign-in serves "
                         "every organization they belong to).",
                         "They are signed out everywhere: their %(n)d active sessions end (one sign-in serves "
                         "every organization they belong to).", sessions) % {"n": sessions},
                _("Their account, groups and role are kept."),
            ],
            note=_("You can reactivate the membership later; the revoked tokens stay revoked."),
            button=button,
            cancel_url=back,
        )

    def perform(self, membership):
        membership_suspend(membership=membership, actor=self.request.user, request=self.request)
        return _("Suspended the membership of %(email)s.") % {"email": membership.user.email}


class UserReactivateView(_UserActionView):
    def perform(self, membership):
        membership_reactivate(membership=membership, actor=self.request.user, request=self.request)
        return _("Reactivated the membership of %(email)s.") % {"email": membership.user.email}


class UserInvitationResendView(_UserActionView):
    def perform(self, membership):
        invitation_resend(membership=membership, actor=self.request.user, request=self.request)
        return _("Sent a new invitation to %(email)s; the previous link no longer works.") % {
            "email": membership.user.email}


class UserUnlockView(_UserActionView):
    on_account = True

    def perform(self, membership):
        lifted = account_unlock(user=membership.user, actor=self.request.user, request=self.request, org=self.org)
        if lifted:
            return _("Unlocked the account of %(email)s.") % {"email": membership.user.email}
        return _("%(email)s was not locked; nothing changed.") % {"email": membership.user.email}


class UserPasswordResetView(_UserActionView):
    on_account = True

    def perform(self, membership):
        user_password_reset_send(org=self.org, user=membership.user, actor=self.request.user, request=self.request)
        return _("Sent a password reset email to %(email)s.") % {"email": membership.user.email}


class UserPasswordChangeRequireView(_UserActionView):
    on_account = True

    def perform(self, membership):
        user_password_change_require(org=self.org, user=membership.user, actor=self.request.user,
                                     request=self.request)
        return _("%(email)s will have to choose a new password at their next sign-in.") % {
            "email": membership.user.email}


@step_up_required("membership.role_change")
class UserRoleChangeView(_UserActionView):
    """Only owners (and operators) grant or take away the owner role; the last owner stays (service)."""

    def perform(self, membership):
        form = RoleChangeForm(self.request.POST, may_grant_owner="owners.manage" in self.org_permissions)
        if not form.is_valid():
            raise DomainError(" ".join(form.errors["role"]), field="role")
        membership_role_change(membership=membership, role=form.cleaned_data["role"], actor=self.request.user,
                               request=self.request)
        return _("%(email)s is now %(role)s.") % {
            "email": membership.user.email, "role": Membership.Role(form.cleaned_data["role"]).label.lower()}

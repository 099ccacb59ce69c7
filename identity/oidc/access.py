"""Who may sign in to an application: one rule, used at /authorize and again at every refresh."""

from dataclasses import dataclass

from django.db.models import Exists
from django.utils.translation import gettext as _

from applications.models import Application
from directory.models import GroupMembership
from orgs.models import Membership


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""  # a closed vocabulary for audit metadata
    message: str = ""  # what the person is told


ALLOWED = AccessDecision(True)


def application_access(*, user, application: Application) -> AccessDecision:
    """An active user with an active membership in the app's org, the app and org active, and — when
    the app is limited to groups — a member of one of them."""
    org = application.org
    if not user.is_active:
        return AccessDecision(False, "user_disabled", _("Your account is disabled."))
    if application.status != Application.Status.ACTIVE:
        return AccessDecision(False, "application_disabled",
                              _("%(app)s is disabled. Contact your administrator.") % {"app": application.name})
    if not org.is_active:
        return AccessDecision(False, "org_suspended",
                              _("%(org)s is suspended. Contact your administrator.") % {"org": org.name})
    # One query: the membership, whether the app is limited to groups, and whether the user is in one.
    limits = Application.allowed_groups.through.objects.filter(application=application)
    membership = (
        Membership.objects.filter(user=user, org=org).only("status")
        .annotate(app_limited=Exists(limits),
                  in_allowed_group=Exists(GroupMembership.objects.filter(user=user,
                                                                         group__in=limits.values("group_id"))))
        .first()
    )
    if membership is None:
        return AccessDecision(False, "not_a_member",
                              _("Your account is not a member of %(org)s, which owns %(app)s.")
                              % {"org": org.name, "app": application.name})
    if membership.status != Membership.Status.ACTIVE:
        return AccessDecision(False, f"membership_{membership.status}",
                              _("Your membership of %(org)s is %(status)s.")
                              % {"org": org.name, "status": membership.get_status_display().lower()})
    if membership.app_limited and not membership.in_allowed_group:
        return AccessDecision(False, "not_in_allowed_groups",
                              _("%(app)s is limited to some groups of %(org)s, and you are in none of them.")
                              % {"app": application.name, "org": org.name})
    return ALLOWED

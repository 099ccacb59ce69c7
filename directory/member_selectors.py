"""Reads for a member's detail page: the applications they can reach, their sessions, their invitation."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from applications.models import Application
from directory.models import GroupMembership, User
from identity.models import OneTimeToken, UserSession
from orgs.models import Membership


def user_reachable_applications(*, org, user: User) -> list[Application]:
    """`org`'s active applications that `user` may sign in to by the group rule of identity/oidc/access.py:
    the app is limited to no group, or to one the user is in. Machine apps sign no one in and are left out.
    Other orgs' apps never appear. Whether the membership itself is active is the caller's to say."""
    limits = Application.allowed_groups.through.objects.filter(application=OuterRef("pk"))
    in_allowed_group = Application.allowed_groups.through.objects.filter(
        application=OuterRef("pk"),
        group__in=GroupMembership.objects.filter(user=user, group__org=org).values("group_id"))
    return list(
        Application.objects.for_org(org)
        .filter(status=Application.Status.ACTIVE)
        .exclude(kind=Application.Kind.MACHINE)
        .filter(~Exists(limits) | Exists(in_allowed_group))
        .only("id", "name", "kind", "org_id")
        .order_by("name")
    )


@dataclass(frozen=True)
class SessionSummary:
    active: int
    last_seen_at: datetime | None


def user_session_summary(*, user: User) -> SessionSummary:
    """How many sessions of `user` are live (not ended, not expired) and when any session was last seen.

    Sessions belong to the person, not to one org: the count covers every sign-in, wherever it began."""
    now = timezone.now()
    row = UserSession.objects.filter(user=user).aggregate(
        active=Count("id", filter=Q(ended_at__isnull=True, expires_at__gt=now)),
        last_seen_at=Max("last_seen_at"),
    )
    return SessionSummary(active=row["active"], last_seen_at=row["last_seen_at"])


def membership_invitation(*, membership: Membership) -> OneTimeToken | None:
    """The latest invitation link sent for `membership` (live, expired or voided), or None if none was sent.

    Only this org's own record: when it was sent and until when it works, never anything about the account."""
    return (OneTimeToken.objects.filter(purpose=OneTimeToken.Purpose.INVITATION, membership=membership)
            .only("created_at", "expires_at", "used_at", "voided_at").order_by("-created_at", "-id").first())

"""Writes to organizations and memberships. Each is atomic and records its audit event."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from applications.tokens import tokens_revoke
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.models import GroupMembership, User
from orgs.models import Membership, Organization
from orgs.validators import validate_org_slug


@transaction.atomic
def organization_create(*, slug: str, name: str, actor=None, request=None) -> Organization:
    """Create an organization. Slugs are unique, well-formed and not reserved words."""
    slug = slug.strip().lower()
    name = name.strip()
    try:
        validate_org_slug(slug)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], field="slug") from None
    if not name:
        raise DomainError("An organization needs a name.", field="name")
    if Organization.objects.filter(slug=slug).exists():
        raise AlreadyExists(f"An organization with the slug “{slug}” already exists.", field="slug")
    try:
        with transaction.atomic():
            org = Organization.objects.create(slug=slug, name=name)
    except IntegrityError:
        raise AlreadyExists(f"An organization with the slug “{slug}” already exists.", field="slug") from None
    audit_record(action="organization.created", actor=actor, org=org, target=org, request=request,
                 metadata={"slug": slug, "name": name})
    return org


def _organization_set_status(
    *, org: Organization, status: str, action: str, actor, request, reason: str, revoke_tokens: bool = False,
) -> Organization:
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.status == status:
        return org
    before = org.status
    org.status = status
    org.save(update_fields=["status", "updated_at"])
    metadata = {"before": before, "after": status, "reason": reason}
    if revoke_tokens:
        metadata["tokens_revoked"] = tokens_revoke(org=org, reason=action)
    audit_record(action=action, actor=actor, org=org, target=org, request=request, metadata=metadata)
    return org


@transaction.atomic
def organization_suspend(*, org: Organization, actor, request=None, reason: str = "") -> Organization:
    """Suspend an org: its members can no longer use its apps or console (operators still can).

    Every token of its applications is revoked; reactivating restores none of them.
    """
    return _organization_set_status(org=org, status=Organization.Status.SUSPENDED,
                                    action="organization.suspended", actor=actor, request=request, reason=reason,
                                    revoke_tokens=True)


@transaction.atomic
def organization_reactivate(*, org: Organization, actor, request=None, reason: str = "") -> Organization:
    return _organization_set_status(org=org, status=Organization.Status.ACTIVE,
                                    action="organization.reactivated", actor=actor, request=request, reason=reason)


@transaction.atomic
def membership_create(
    *, org: Organization, user, role: str, actor=None, request=None,
    status: str = Membership.Status.ACTIVE,
) -> Membership:
    """Add `user` to `org` with `role`. One membership per user and org."""
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role “{role}”; choose one of {', '.join(Membership.Role.values)}.",
                          field="role")
    if Membership.objects.filter(org=org, user=user).exists():
        raise AlreadyExists(f"{user.email} is already a member of {org.name}.", field="email")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(org=org, user=user, role=role, status=status)
    except IntegrityError:
        raise AlreadyExists(f"{user.email} is already a member of {org.name}.", field="email") from None
    audit_record(action="membership.created", actor=actor, org=org, target=membership, request=request,
                 metadata={"user": user.email, "role": role, "status": status})
    return membership


def _owner_rule_check(*, membership: Membership, doing: str) -> None:
    """Refuse to take away the org's last active owner, so an org never becomes ownerless by accident.

    The rule holds for platform operators too: they can make someone else owner first. An owner whose
    account is disabled cannot act, so only owners with an active account count. The caller holds the
    org's row lock (_membership_lock), so two admins removing the last two owners at once cannot both pass.
    """
    if membership.role != Membership.Role.OWNER or membership.status != Membership.Status.ACTIVE:
        return
    others = (
        Membership.objects.filter(org_id=membership.org_id, role=Membership.Role.OWNER,
                                  status=Membership.Status.ACTIVE, user__status=User.Status.ACTIVE)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise NotAllowed(
            f"{membership.user.email} is the last active owner of {membership.org.name}; "
            f"make another member an owner before you {doing} them."
        )


def _membership_lock(membership: Membership) -> Membership | None:
    """Lock the org, then the membership: every change to an org's memberships queues on the org's row.

    Locking the org first (as organization_suspend does) keeps one lock order, so concurrent changes
    wait for each other instead of deadlocking, and the owner count read afterwards stays true.
    """
    if Organization.objects.select_for_update().filter(pk=membership.org_id).first() is None:
        return None
    return (
        Membership.objects.select_for_update(of=("self",)).select_related("org", "user")
        .filter(pk=membership.pk).first()
    )


@transaction.atomic
def membership_suspend(*, membership: Membership, actor, request=None, reason: str = "") -> Membership:
    """Suspend an active membership and revoke the user's tokens for the org's applications.

    Suspending a suspended membership changes nothing. An invitation not yet accepted cannot be
    suspended (remove it instead): reactivating it would skip the acceptance. The last active owner
    cannot be suspended.
    """
    locked = _membership_lock(membership)
    if locked is None:
        raise NotAllowed("This membership no longer exists.")
    membership = locked
    if membership.status == Membership.Status.SUSPENDED:
        return membership
    if membership.status != Membership.Status.ACTIVE:
        raise NotAllowed(f"{membership.user.email} has not accepted the invitation yet; remove it instead.")
    _owner_rule_check(membership=membership, doing="suspend")
    before = membership.status
    membership.status = Membership.Status.SUSPENDED
    membership.save(update_fields=["status", "updated_at"])
    revoked = tokens_revoke(user=membership.user, org=membership.org, reason="membership.suspended")
    audit_record(action="membership.suspended", actor=actor, org=membership.org, target=membership,
                 request=request,
                 metadata={"user": membership.user.email, "role": membership.role, "before": before,
                           "after": membership.status, "reason": reason, "tokens_revoked": revoked})
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership, actor, request=None, reason: str = "") -> Membership:
    """Put a suspended membership back in force. Tokens revoked at suspension stay revoked.

    Reactivating an active membership changes nothing; an invitation is activated only by its
    acceptance, never here.
    """
    locked = _membership_lock(membership)
    if locked is None:
        raise NotAllowed("This membership no longer exists.")
    membership = locked
    if membership.status == Membership.Status.ACTIVE:
        return membership
    if membership.status != Membership.Status.SUSPENDED:
        raise NotAllowed(f"{membership.user.email} has not accepted the invitation yet; only they can.")
    before = membership.status
    membership.status = Membership.Status.ACTIVE
    membership.save(update_fields=["status", "updated_at"])
    audit_record(action="membership.reactivated", actor=actor, org=membership.org, target=membership,
                 request=request,
                 metadata={"user": membership.user.email, "role": membership.role, "before": before,
                           "after": membership.status, "reason": reason})
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor, request=None) -> None:
    """Take a user out of an org: the membership, their place in its groups and their tokens for its apps.

    The user's account and their other memberships are untouched. Removing a membership that is
    already gone changes nothing. The last active owner cannot be removed.
    """
    locked = _membership_lock(membership)
    if locked is None:
        return
    membership = locked
    _owner_rule_check(membership=membership, doing="remove")
    org, user = membership.org, membership.user
    groups_left, _ = GroupMembership.objects.filter(user=user, group__org=org).delete()
    revoked = tokens_revoke(user=user, org=org, reason="membership.removed")
    # Recorded before the delete, while the row still has the id the event points at.
    audit_record(action="membership.removed", actor=actor, org=org, target=membership, request=request,
                 metadata={"user": user.email, "role": membership.role, "status": membership.status,
                           "groups_left": groups_left, "tokens_revoked": revoked})
    membership.delete()

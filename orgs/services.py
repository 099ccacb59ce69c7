"""Writes to organizations and memberships. Each is atomic and records its audit event."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError
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


def _organization_set_status(*, org: Organization, status: str, action: str, actor, request, reason: str):
    org = Organization.objects.select_for_update().get(pk=org.pk)
    if org.status == status:
        return org
    before = org.status
    org.status = status
    org.save(update_fields=["status", "updated_at"])
    audit_record(action=action, actor=actor, org=org, target=org, request=request,
                 metadata={"before": before, "after": status, "reason": reason})
    return org


@transaction.atomic
def organization_suspend(*, org: Organization, actor, request=None, reason: str = "") -> Organization:
    """Suspend an org: its members can no longer use its apps or console (operators still can)."""
    return _organization_set_status(org=org, status=Organization.Status.SUSPENDED,
                                    action="organization.suspended", actor=actor, request=request, reason=reason)


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

"""Writes of the platform operator's pages: opening an organization with its first owner in one step."""

from django.db import transaction

from orgs.models import Membership, Organization
from orgs.services import member_invite, organization_create


@transaction.atomic
def organization_create_with_owner(*, slug: str, name: str, first_owner_email: str = "", actor=None,
                                   request=None) -> Organization:
    """Create an organization and, given an email, invite its first owner, all or nothing: an org is never
    left half made because its invitation was refused. Each step writes its own audit rows
    (organization.created, then invitation.sent) and the invitation email goes out after commit."""
    org = organization_create(slug=slug, name=name, actor=actor, request=request)
    if first_owner_email:
        member_invite(org=org, email=first_owner_email, role=Membership.Role.OWNER, actor=actor, request=request)
    return org

"""Writes to one member's org-specific data (the employee id) and an admin's reach into their sign-ins. Each is
atomic and audited."""

import unicodedata

from django.db import transaction

from audit.services import audit_record
from config.exceptions import DomainError, NotAllowed
from identity.services import SessionEndCause, user_sessions_end_all
from orgs.models import Membership

EMPLOYEE_ID_MAX = Membership._meta.get_field("employee_id").max_length


def employee_id_clean(value: str | None) -> str:
    """Stripped; empty clears it. At most 64 characters, no control characters (it ends up in CSVs and
    tokens' claims, where a newline or NUL would break the line)."""
    value = (value or "").strip()
    if len(value) > EMPLOYEE_ID_MAX:
        raise DomainError(f"An employee id has at most {EMPLOYEE_ID_MAX} characters.", field="employee_id")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise DomainError("An employee id cannot contain control characters such as line breaks or tabs.",
                          field="employee_id")
    return value


@transaction.atomic
def membership_employee_id_update(*, membership: Membership, employee_id: str, actor, request=None) -> Membership:
    """Set (or clear, with "") the org's identifier for a member. Within one org it is unique: two people
    with the same HR number is a mistake to catch, not to store. The same value again writes nothing."""
    employee_id = employee_id_clean(employee_id)
    locked = (Membership.objects.select_for_update(of=("self",)).select_related("org", "user")
              .filter(pk=membership.pk).first())
    if locked is None:
        raise NotAllowed("This membership no longer exists.")
    if locked.employee_id == employee_id:
        return locked
    if employee_id and (Membership.objects.filter(org_id=locked.org_id, employee_id=employee_id)
                        .exclude(pk=locked.pk).exists()):
        raise DomainError(f"Another member of {locked.org.name} already has the employee id “{employee_id}”.",
                          field="employee_id")
    before = locked.employee_id
    locked.employee_id = employee_id
    locked.save(update_fields=["employee_id", "updated_at"])
    audit_record(action="membership.updated", actor=actor, org=locked.org, target=locked, request=request,
                 metadata={"user": locked.user.email, "before": {"employee_id": before},
                           "after": {"employee_id": employee_id}})
    return locked


@transaction.atomic
def member_sessions_end(*, org, membership: Membership, actor, request=None) -> int:
    """An org admin signs a member out everywhere: every browser session of theirs ends (it is one sign-in
    for all their orgs, so there is no signing out of one org only), and this org's applications lose the
    tokens they got in those sessions and are told (back-channel logout). Other orgs' applications keep
    theirs. Only for an active membership: a suspended member's sessions ended at suspension, and an
    invitation has none here. Audited as `sessions.ended` in `org`, when any ended; returns how many.
    """
    if membership.org_id != org.pk:
        raise NotAllowed("This membership belongs to another organization.")
    if membership.status != Membership.Status.ACTIVE:
        raise NotAllowed(f"{membership.user.email} is not an active member of {org.name}, so there is no "
                         "session to end here.")
    return user_sessions_end_all(user=membership.user, actor=actor, reason=SessionEndCause.BY_ADMIN, org=org,
                                 request=request)

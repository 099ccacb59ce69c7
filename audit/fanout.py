"""Recording one event in several chains at once: the original where it belongs, and a copy in each
organization that must see it too (a member's sign-in appears in every org the account is an active member of).

Why copies and not a read-side join on memberships: each org's chain then proves its own log on its own,
exports and webhooks stay per chain, and "in no other org" holds by construction — a membership suspended
or removed later does not rewrite what an org was shown. The copy carries its own action name, so the
platform's log and figures, which already hold the original, count each sign-in once.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import _request_fields, _target_fields


def audit_record_with_org_copies(
    *,
    action: str,
    copy_action: str,
    copy_org_ids: Iterable[int],
    org=None,
    actor=None,
    target: models.Model | None = None,
    request=None,
    metadata: dict[str, Any] | None = None,
    copy_target: models.Model | None = None,
    copy_metadata: dict[str, Any] | None = None,
) -> list[AuditEvent]:
    """Record `action` in `org` (None: the platform) and `copy_action` in each org of `copy_org_ids` but `org`
    itself (it already holds the original), all with one timestamp, in one INSERT and one chain-head UPDATE.

    The copies name `copy_target` and carry `copy_metadata` when given (the original's otherwise): the
    original may have to say less to an org than the account's own orgs may read.
    Returns the original first, then the copies. Call it inside the transaction of the change it records.
    """
    actor_user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    common = {
        "actor": actor_user,
        "actor_label": actor_user.email if actor_user else "",
        "created_at": timezone.now(),
        **_request_fields(request),
    }
    credential = getattr(request, "api_credential", None) if request is not None else None
    if isinstance(credential, dict):  # as audit_record: a change through the API names the key that acted
        metadata = {"api_credential": credential, **(metadata or {})}
    origin = org.pk if org is not None else None
    copies = sorted({org_id for org_id in copy_org_ids if org_id != origin})
    events = [AuditEvent(org=org, action=action, metadata=metadata or {}, **_target_fields(target), **common)]
    copy_fields = {"metadata": copy_metadata if copy_metadata is not None else metadata or {},
                   **_target_fields(copy_target if copy_target is not None else target)}
    events += [AuditEvent(org_id=org_id, action=copy_action, **copy_fields, **common) for org_id in copies]
    return AuditEvent.objects.bulk_create(events)

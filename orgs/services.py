"""Writes to organizations and memberships. Each is atomic and records its audit event."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from applications.tokens import tokens_revoke
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.models import Group, GroupMembership, User
from directory.selectors import user_get_by_email
from directory.services import group_member_add, normalize_email, password_apply, user_create
from emailqueue.services import EmailDraft, email_enqueue
from identity.backchannel.services import backchannel_logout_enqueue
from identity.models import OneTimeToken, UserSession
from identity.services import SessionEndCause, user_sessions_end_all
from identity.tokens import (
    InvalidLink,
    LinkProblem,
    invitation_lifetime,
    token_build,
    token_get,
    token_link,
    token_use,
    token_void,
)
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
        # Its apps are told about every live session they were used in (OIDC Back-Channel Logout).
        backchannel_logout_enqueue(sessions=UserSession.objects.live(), org=org, reason=action)
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
    if role == Membership.Role.OWNER:
        owner_role_actor_check(org=org, actor=actor)
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


def owner_role_actor_check(*, org: Organization, actor) -> None:
    """Only an active owner of `org` grants or takes away the owner role (by role change, invitation,
    suspension, reactivation or removal of an owner); platform operators may too, and so may the
    system (actor None: manage.py). Raises NotAllowed(field="role") otherwise."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    is_owner = Membership.objects.filter(org_id=org.pk, user_id=actor.pk, role=Membership.Role.OWNER,
                                         status=Membership.Status.ACTIVE).exists()
    if not is_owner:
        raise NotAllowed(f"Only an owner of {org.name} can grant or take away the owner role.", field="role")


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
    if membership.role == Membership.Role.OWNER:
        owner_role_actor_check(org=membership.org, actor=actor)
    _owner_rule_check(membership=membership, doing="suspend")
    before = membership.status
    membership.status = Membership.Status.SUSPENDED
    membership.save(update_fields=["status", "updated_at"])
    revoked = tokens_revoke(user=membership.user, org=membership.org, reason="membership.suspended")
    # A browser session is one sign-in for every org, so all of them end (the person signs in again for
    # their other orgs); the apps used in them are told after commit (OIDC Back-Channel Logout).
    sessions_ended = user_sessions_end_all(user=membership.user, actor=actor, org=membership.org, request=request,
                                           reason=SessionEndCause.MEMBERSHIP_SUSPENDED)
    audit_record(action="membership.suspended", actor=actor, org=membership.org, target=membership,
                 request=request,
                 metadata={"user": membership.user.email, "role": membership.role, "before": before,
                           "after": membership.status, "reason": reason, "tokens_revoked": revoked,
                           "sessions_ended": sessions_ended})
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
    if membership.role == Membership.Role.OWNER:
        owner_role_actor_check(org=membership.org, actor=actor)
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
    if membership.role == Membership.Role.OWNER:
        owner_role_actor_check(org=membership.org, actor=actor)
    _owner_rule_check(membership=membership, doing="remove")
    org, user = membership.org, membership.user
    groups_left, _ = GroupMembership.objects.filter(user=user, group__org=org).delete()
    revoked = tokens_revoke(user=user, org=org, reason="membership.removed")
    sessions_ended = 0
    if membership.status == Membership.Status.ACTIVE:
        # As for a suspension, every browser session of theirs ends (membership_suspend says why). Not for
        # an invitation (never in force here) nor a suspension (its sessions ended then); nor the
        # session making this request, when someone removes themselves.
        current = getattr(request, "user_session", None)
        sessions_ended = user_sessions_end_all(
            user=user, actor=actor, org=org, request=request, reason=SessionEndCause.MEMBERSHIP_REMOVED,
            except_session=current if current is not None and current.user_id == user.pk else None)
    # Recorded before the delete, while the row still has the id the event points at.
    audit_record(action="membership.removed", actor=actor, org=org, target=membership, request=request,
                 metadata={"user": user.email, "role": membership.role, "status": membership.status,
                           "groups_left": groups_left, "tokens_revoked": revoked, "sessions_ended": sessions_ended})
    membership.delete()


# --- invitations ----------------------------------------------------------------------------------


def invitation_sets_password(user: User) -> bool:
    """Whether an invitation link may set this account's first password.

    Only an account nobody can sign in to yet (no usable password): the link then proves control of
    the mailbox. An account with a password is someone's identity, and an org's invitation only
    offers them a membership after they sign in as themselves.
    """
    return not user.has_usable_password() and not user.is_superuser


def invitation_build(
    *, membership: Membership, actor, now=None, group_names: list[str] | None = None,
) -> tuple[OneTimeToken, EmailDraft]:
    """The invitation link for `membership` (its token row, not saved) and the email that carries it.

    The one recipe for the link and the message: _invitation_send saves one, a CSV import saves many
    at once. The raw value exists only in the email's context. The email names the groups the person
    is in within the org (`group_names`, or read here when not given).
    """
    if group_names is None:
        group_names = list(Group.objects.for_org(membership.org).filter(memberships__user=membership.user)
                           .order_by("name").values_list("name", flat=True))
    lifetime = invitation_lifetime()
    token, raw = token_build(purpose=OneTimeToken.Purpose.INVITATION, user=membership.user,
                             membership=membership, lifetime=lifetime, now=now)
    email = EmailDraft(
        to=membership.user.email, template="invitation", kind="invitation", org=membership.org,
        context={
            "user": membership.user,
            "inviter": getattr(actor, "display_name", "") if actor is not None else "",
            "role": membership.get_role_display(),
            # Nothing here says whether the account exists: the org's email queue shows this message. The
            # invitation page tells the invitee whether to choose a password or to sign in.
            "link": token_link(purpose=token.purpose, raw=raw),
            "expires_hours": int(lifetime.total_seconds() // 3600),
            "groups": group_names,
        },
    )
    return token, email


def _invitation_send(*, membership: Membership, actor) -> OneTimeToken:
    # A new link replaces the membership's previous one (a resend).
    token_void(user=membership.user, purpose=OneTimeToken.Purpose.INVITATION, membership=membership)
    token, email = invitation_build(membership=membership, actor=actor)
    token.save(force_insert=True)
    email_enqueue(to=email.to, template=email.template, context=email.context, kind=email.kind, org=email.org)
    return token


@transaction.atomic
def member_invite(
    *, org: Organization, email: str, role: str, actor, request=None, groups=(), full_name: str = "",
) -> Membership:
    """Invite `email` to `org` as `role`, with a single-use link by email.

    An address with no account gets one without a usable password; its link sets the first
    password. An existing account only gets an invited membership, which its owner accepts after
    signing in — an org never sets the password of an account that already exists. Groups must
    belong to `org`. The answer, the audit rows in `org` and the email read the same whichever it
    was (no account, an account of another org, a platform operator's): only this org's own
    members are told apart (already a member, already invited).
    """
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role “{role}”; choose one of {', '.join(Membership.Role.values)}.",
                          field="role")
    groups = list(groups)
    for group in groups:
        if not isinstance(group, Group) or group.org_id != org.pk:
            raise DomainError("Every group must belong to this organization.", field="groups")
    email = normalize_email(email)
    user = user_get_by_email(email=email)
    if user is None:
        user = user_create(email=email, password=None, full_name=full_name, actor=actor, request=request)
    else:
        # An account elsewhere, or a platform operator's, is invited like a new address: the org must not
        # learn which it was (issue #10). An operator cannot accept (invitation_accept says why).
        existing = Membership.objects.filter(org=org, user=user).first()
        if existing is not None and existing.status == Membership.Status.INVITED:
            raise AlreadyExists(f"{user.email} is already invited to {org.name}; resend the invitation instead.",
                                field="email")
    membership = membership_create(org=org, user=user, role=role, actor=actor, request=request,
                                   status=Membership.Status.INVITED)
    for group in groups:
        # The invitation names the groups: no separate "added to a group" email per group.
        group_member_add(group=group, user=user, actor=actor, request=request, notify=False)
    token = _invitation_send(membership=membership, actor=actor)
    audit_record(action="invitation.sent", actor=actor, org=org, target=membership, request=request,
                 metadata={"user": user.email, "role": role, "groups": [group.slug for group in groups],
                           "expires_at": token.expires_at.isoformat()})
    return membership


@transaction.atomic
def invitation_resend(*, membership: Membership, actor, request=None) -> Membership:
    """Send a fresh invitation link; the previous one stops working. Only for invitations not yet accepted."""
    membership = (Membership.objects.select_for_update(of=("self",)).select_related("org", "user")
                  .filter(pk=membership.pk).first())
    if membership is None:
        raise NotAllowed("This invitation no longer exists.")
    if membership.status != Membership.Status.INVITED:
        raise NotAllowed(f"{membership.user.email} has already accepted the invitation.")
    token = _invitation_send(membership=membership, actor=actor)
    audit_record(action="invitation.resent", actor=actor, org=membership.org, target=membership, request=request,
                 metadata={"user": membership.user.email, "expires_at": token.expires_at.isoformat()})
    return membership


def invitation_get(*, raw_token: str) -> OneTimeToken:
    """The live invitation for `raw_token` (InvalidLink if used, expired, replaced or unknown).

    An invitation whose membership was accepted another way counts as used.
    """
    token = token_get(purpose=OneTimeToken.Purpose.INVITATION, raw=raw_token)
    membership = Membership.objects.select_related("org", "user").filter(pk=token.membership_id).first()
    if membership is None or membership.status != Membership.Status.INVITED:
        raise InvalidLink(LinkProblem.USED, token)
    token.membership = membership
    return token


@transaction.atomic
def invitation_accept(*, raw_token: str, actor=None, password: str | None = None, request=None) -> Membership:
    """Accept an invitation: the membership becomes active and the link is used up.

    - For an account without a password, `password` becomes its first password (under the password
      rules) and the email counts as verified; no sign-in is needed, the link proves the mailbox.
    - For an account with a password, `actor` must be that account, signed in: another signed-in
      user is refused, and no password is ever set.
    - A platform operator's account is refused: operators belong to no organization.
    A refused or invalid attempt changes nothing and leaves the link usable.
    """
    token = token_get(purpose=OneTimeToken.Purpose.INVITATION, raw=raw_token, for_update=True)
    membership = (Membership.objects.select_for_update(of=("self",)).select_related("org", "user")
                  .filter(pk=token.membership_id).first())
    if membership is None or membership.status != Membership.Status.INVITED:
        raise InvalidLink(LinkProblem.USED, token)
    user = User.objects.select_for_update().get(pk=membership.user_id)
    if user.is_superuser:
        # The inviting org could not tell this address was an operator's (member_invite); the operator is
        # told here, and the invitation stays as it is until it expires or the org removes it.
        raise NotAllowed(f"{user.email} is a platform operator's account, and platform operators belong to no "
                         f"organization, so it cannot join {membership.org.name}. Nothing was changed; an operator "
                         f"already reaches every organization from the platform console.")
    if not user.is_active:
        raise NotAllowed("This account is disabled. Contact your administrator.")
    if membership.org.status != Organization.Status.ACTIVE:
        raise NotAllowed(f"{membership.org.name} is suspended, so it cannot take new members now.")
    sets_password = invitation_sets_password(user)
    if sets_password:
        if not password:
            raise DomainError("Choose a password.", field="password")
        user.email_verified = True
        password_apply(user=user, password=password, extra_org=membership.org, update_fields=["email_verified"])
    elif actor is None or getattr(actor, "pk", None) != user.pk:
        raise NotAllowed("This invitation is for another account. Sign in as the invited account to accept it.")
    token_use(token=token)
    membership.status = Membership.Status.ACTIVE
    membership.save(update_fields=["status", "updated_at"])
    audit_record(action="invitation.accepted", actor=user, org=membership.org, target=membership, request=request,
                 metadata={"user": user.email, "role": membership.role, "password_set": sets_password})
    return membership


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor, request=None) -> Membership:
    """Give a member another role. Only owners (operators, the system) grant or take away the owner
    role, and the last active owner is never demoted: both raise NotAllowed, writing nothing. The
    function for every path that changes roles (console, API, CSV import). Same role: nothing written."""
    if role not in Membership.Role.values:
        raise DomainError(f"Unknown role “{role}”; choose one of {', '.join(Membership.Role.values)}.", field="role")
    locked = _membership_lock(membership)
    if locked is None:
        raise NotAllowed("This membership no longer exists.")
    membership = locked
    if membership.role == role:
        return membership
    if Membership.Role.OWNER in (membership.role, role):
        owner_role_actor_check(org=membership.org, actor=actor)
    if membership.role == Membership.Role.OWNER:
        _owner_rule_check(membership=membership, doing="demote")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(action="membership.role_changed", actor=actor, org=membership.org, target=membership,
                 request=request, metadata={"user": membership.user.email, "before": before, "after": role})
    return membership

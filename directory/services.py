"""Writes to users and groups, passwords and email addresses. Each is atomic and records its audit event."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from applications.tokens import tokens_revoke
from audit.fanout import audit_record_with_org_copies
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.email_verification_services import email_verification_send
from directory.group_selectors import group_delete_impact
from directory.models import Group, GroupMembership, User
from directory.selectors import user_mail_org
from emailqueue.models import OutboundEmail
from emailqueue.services import email_enqueue
from identity.models import OneTimeToken, PasswordChangeRequired
from identity.password_policy import password_history_record, password_policy_validate
from identity.services import SessionEndCause, user_sessions_end_all
from identity.tokens import (
    PASSWORD_RESET_LIFETIME,
    token_get,
    token_issue,
    token_link,
    token_use,
    token_void,
)
from orgs.models import Membership
from orgs.selectors import member_org_ids
from security.services import account_unlock


def normalize_email(email: str) -> str:
    """Trim and lower-case the domain; the local part keeps its case but uniqueness ignores it."""
    email = (email or "").strip()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


def account_event_record(*, action: str, user: User, actor, org=None, request=None, metadata: dict) -> None:
    """Audit an event about `user`'s account in `org` (None: the platform's log), and the same event in each
    other org where the account is an active member (audit/fanout.py), so those orgs' logs and webhooks
    hear of it too. Orgs where it is only invited or suspended hear nothing."""
    audit_record_with_org_copies(action=action, copy_action=action, copy_org_ids=member_org_ids(user=user),
                                 org=org, actor=actor, target=user, request=request, metadata=metadata)


@transaction.atomic
def user_create(
    *, email: str, password: str | None, full_name: str = "", actor=None, request=None,
    is_superuser: bool = False, email_verified: bool = False, check_password_policy: bool = True,
) -> User:
    """Create a global identity. Emails are unique regardless of case.

    A password of None leaves the account without a usable password (set later by invitation). With a
    password and an address not known to be verified, a verification link is emailed.
    """
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(f"“{email}” is not a valid email address.", field="email") from None
    if User.objects.filter(email__iexact=email).exists():
        raise AlreadyExists(f"A user with the email {email} already exists.", field="email")
    user = User(email=email, full_name=full_name.strip(), is_superuser=is_superuser,
                email_verified=email_verified)
    if password is not None and check_password_policy:
        try:
            password_validate(user=user, password=password)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise AlreadyExists(f"A user with the email {email} already exists.", field="email") from None
    audit_record(action="user.created", actor=actor, target=user, request=request,
                 metadata={"email": email, "operator": is_superuser})
    if password is not None and not email_verified:
        # Nobody proved this mailbox (an invitation's link would have): it is asked to, by mail.
        email_verification_send(user=user, actor=actor, request=request)
    return user


@transaction.atomic
def group_create(*, org, name: str, slug: str = "", description: str = "", actor=None, request=None) -> Group:
    """Create a group in `org`; its slug is unique within the org."""
    name = name.strip()
    if not name:
        raise DomainError("A group needs a name.", field="name")
    slug = slugify(slug or name)[:80].strip("-")
    if not slug:
        raise DomainError("A group's slug needs at least one letter or digit.", field="slug")
    if Group.objects.for_org(org).filter(slug=slug).exists():
        raise AlreadyExists(f"A group with the slug “{slug}” already exists in {org.name}.", field="slug")
    try:
        with transaction.atomic():
            group = Group.objects.create(org=org, name=name, slug=slug, description=description)
    except IntegrityError:
        # Created by someone else between the check and the insert.
        raise AlreadyExists(f"A group with the slug “{slug}” already exists in {org.name}.", field="slug") from None
    audit_record(action="group.created", actor=actor, org=org, target=group, request=request,
                 metadata={"name": name, "slug": slug})
    return group


@transaction.atomic
def group_member_add(*, group: Group, user: User, actor=None, request=None, notify: bool = True) -> GroupMembership:
    """Add `user` to `group`. Only members of the group's org may join its groups.

    `notify=False` when another email already tells the person (an invitation names its groups).
    """
    if not Membership.objects.filter(org=group.org, user=user).exists():
        raise DomainError(f"{user.email} is not a member of {group.org.name}.", field="user")
    existing = GroupMembership.objects.filter(group=group, user=user).first()
    if existing:
        return existing
    group_membership = GroupMembership.objects.create(group=group, user=user)
    audit_record(action="group.member_added", actor=actor, org=group.org, target=group, request=request,
                 metadata={"user": user.email})
    if notify:
        _group_change_notify(group=group, user=user, template="group_added")
    return group_membership


@transaction.atomic
def group_member_remove(*, group: Group, user: User, actor=None, request=None) -> bool:
    """Take `user` out of `group`; False (and nothing written) when they were not in it."""
    deleted, _ = GroupMembership.objects.filter(group=group, user=user).delete()
    if not deleted:
        return False
    audit_record(action="group.member_removed", actor=actor, org=group.org, target=group, request=request,
                 metadata={"user": user.email})
    _group_change_notify(group=group, user=user, template="group_removed")
    return True


def _group_change_notify(*, group: Group, user: User, template: str) -> None:
    """Tell the person: group membership decides what they can reach (app access, roles)."""

    email_enqueue(to=user.email, template=template, kind=template, org=group.org,
                  context={"user": user, "group": group})


@transaction.atomic
def user_disable(*, user: User, actor, request=None, reason: str = "") -> User:
    """Disable an account everywhere: it cannot sign in, its tokens are revoked, its sessions end.

    Ending the UserSession rows signs every browser out at its next request (UserSessionMiddleware).
    Disabling a disabled account changes nothing.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status == User.Status.DISABLED:
        return user
    before = user.status
    user.status = User.Status.DISABLED
    user.save(update_fields=["status", "updated_at"])
    revoked = tokens_revoke(user=user, reason="user.disabled")
    # Every browser is signed out at once and every app used in those sessions is told after commit.
    sessions_ended = user_sessions_end_all(user=user, actor=actor, reason=SessionEndCause.USER_DISABLED,
                                           request=request)
    account_event_record(action="user.disabled", actor=actor, user=user, request=request,
                         metadata={"email": user.email, "before": before, "after": user.status, "reason": reason,
                                   "tokens_revoked": revoked, "sessions_ended": sessions_ended})
    return user


@transaction.atomic
def user_enable(*, user: User, actor, request=None, reason: str = "") -> User:
    """Let a disabled account sign in again. Tokens and sessions ended by disabling stay ended.

    Enabling an active account changes nothing.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status == User.Status.ACTIVE:
        return user
    before = user.status
    user.status = User.Status.ACTIVE
    user.save(update_fields=["status", "updated_at"])
    account_event_record(action="user.enabled", actor=actor, user=user, request=request,
                         metadata={"email": user.email, "before": before, "after": user.status, "reason": reason})
    return user


# --- passwords ------------------------------------------------------------------------------------


def password_validate(*, user: User, password: str, extra_org=None) -> None:
    """Raise ValidationError (every message) if `password` breaks the rules for `user`: the platform's,
    then the strictest of their orgs' policies (plus `extra_org`, an org they are joining).

    Forms call it to show field errors; the services call it again so no path skips it.
    """
    password_policy_validate(user=user, password=password, extra_org=extra_org)


def password_apply(*, user: User, password: str, extra_org=None, update_fields=()) -> None:
    """Validate and save a new password (with `update_fields` set by the caller), remember it for the
    no-reuse rule and lift an administrator's "must change password". DomainError if the rules refuse it."""
    try:
        password_validate(user=user, password=password, extra_org=extra_org)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from None
    password_history_record(user=user)
    user.set_password(password)
    user.save(update_fields=["password", "password_changed_at", "updated_at", *update_fields])
    password_history_record(user=user)
    PasswordChangeRequired.objects.filter(user=user).delete()


def _sessions_end_others(*, user: User, request=None) -> int:
    """End every live session of `user` except the one making this request, if it is theirs."""
    current = getattr(request, "user_session", None) if request is not None else None
    if current is not None and current.user_id != user.pk:
        current = None
    return user_sessions_end_all(user=user, actor=user, reason=SessionEndCause.PASSWORD_CHANGED,
                                 except_session=current, request=request)


def _password_changed_notice(*, user: User, how: str) -> None:
    email_enqueue(to=user.email, template="password_changed", context={"user": user, "how": how},
                   kind="password_changed", org=user_mail_org(user))


def _password_reset_link_enqueue(*, user: User, org) -> tuple[OneTimeToken, OutboundEmail]:
    """Issue a reset link for `user` (voiding the previous one) and write the email that carries it."""
    token, raw = token_issue(purpose=OneTimeToken.Purpose.PASSWORD_RESET, user=user,
                             lifetime=PASSWORD_RESET_LIFETIME)
    message = email_enqueue(
        to=user.email, template="password_reset", kind="password_reset", org=org,
        context={"user": user, "link": token_link(purpose=token.purpose, raw=raw),
                 "expires_minutes": int(PASSWORD_RESET_LIFETIME.total_seconds() // 60)},
    )
    return token, message


@transaction.atomic
def password_reset_request(*, email: str, request=None) -> OutboundEmail | None:
    """Answer "forgot my password" for `email`, in the asking request's own transaction.

    An active account gets a link valid for an hour (voiding any earlier one). An address with no
    account gets a short, unbranded notice saying so (OWASP's forgot-password guidance allows it), so
    both write one outbox row and the caller's answer, and its time, do not depend on which it was.
    A disabled account gets no email, as before (its link would be refused anyway). Only the outbox
    row's id goes to the broker, after commit; a broker that is down leaves the row to the sweeper.
    Every request is audited, at platform level unless the account belongs to one org. Returns the
    row written.
    """
    email = (email or "").strip()
    user = User.objects.filter(email__iexact=email).first()
    metadata = {"email": email[:254], "ip": getattr(request, "client_ip", None) or ""}
    if user is None:
        notice = email_enqueue(to=normalize_email(email), template="password_reset_no_account",
                               kind="password_reset_no_account", context={})
        audit_record(action="password.reset_requested", request=request,
                     metadata={**metadata, "sent": False, "notice": True, "reason": "unknown"})
        return notice
    if not user.is_active:
        audit_record(action="password.reset_requested", target=user, request=request,
                     metadata={**metadata, "sent": False, "notice": False, "reason": "disabled"})
        return None
    org = user_mail_org(user)
    token, message = _password_reset_link_enqueue(user=user, org=org)
    audit_record(action="password.reset_requested", org=org, target=user, request=request,
                 metadata={**metadata, "sent": True, "expires_at": token.expires_at.isoformat()})
    return message


def only_in_org_check(*, org, user: User) -> None:
    """An org admin acts on credentials only of users who belong to that org alone (DESIGN.md)."""
    memberships = Membership.objects.filter(user=user)
    if user.is_superuser or not memberships.filter(org=org).exists():
        raise NotAllowed(f"{user.email} is not a member of {org.name}.")
    if memberships.exclude(org=org).exists():
        raise NotAllowed(f"{user.email} also belongs to another organization; ask a platform operator.")


@transaction.atomic
def user_password_reset_send(*, org, user: User, actor, request=None) -> OneTimeToken:
    """An org admin sends `user` a reset link. Only for users who belong to `org` alone (DESIGN.md):
    anyone who also belongs elsewhere is a platform operator's matter."""
    only_in_org_check(org=org, user=user)
    if not user.is_active:
        raise NotAllowed(f"{user.email} is disabled; enable the account first.")
    token, _message = _password_reset_link_enqueue(user=user, org=org)
    audit_record(action="password.reset_requested", actor=actor, org=org, target=user, request=request,
                 metadata={"email": user.email, "sent": True, "by_admin": True,
                           "expires_at": token.expires_at.isoformat()})
    return token


@transaction.atomic
def password_reset_confirm(*, raw_token: str, password: str, request=None) -> User:
    """Set a new password from a reset link, use the link up, and lock everyone else out.

    Every other session of the user ends and every OAuth token is revoked (whoever knew the old
    password may hold them); the user is told by email. Raises InvalidLink for a used, expired,
    replaced or unknown link and DomainError(field="password") for a password the rules refuse —
    in both cases the link is left as it was.
    """
    token = token_get(purpose=OneTimeToken.Purpose.PASSWORD_RESET, raw=raw_token, for_update=True)
    user = User.objects.select_for_update().get(pk=token.user_id)
    if not user.is_active:
        raise NotAllowed("This account is disabled. Contact your administrator.")
    # The link went to the mailbox, so the address is proven.
    user.email_verified = True
    password_apply(user=user, password=password, update_fields=["email_verified"])
    token_use(token=token)
    sessions_ended = _sessions_end_others(user=user, request=request)
    tokens_revoked = tokens_revoke(user=user, reason="password.reset")
    # Whoever was guessing now faces a password they have never seen; the owner, who proved the
    # mailbox, should not stay locked out by their guesses.

    account_unlock(user=user, actor=None, request=request)
    _password_changed_notice(user=user, how="reset")
    account_event_record(action="password.reset", actor=user, org=user_mail_org(user), user=user, request=request,
                         metadata={"sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked})
    return user


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, request=None) -> User:
    """Change the signed-in user's password. The current password is required; every other session
    ends and OAuth tokens are revoked (a password change is how a worried user locks others out).
    Outstanding reset links are voided. The caller keeps its own session (update_session_auth_hash)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(current_password):
        raise DomainError("Your current password is not correct.", field="current_password")
    password_apply(user=user, password=new_password)
    token_void(user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET)
    sessions_ended = _sessions_end_others(user=user, request=request)
    tokens_revoked = tokens_revoke(user=user, reason="password.changed")
    _password_changed_notice(user=user, how="changed")
    account_event_record(action="password.changed", actor=user, org=user_mail_org(user), user=user, request=request,
                         metadata={"sessions_ended": sessions_ended, "tokens_revoked": tokens_revoked})
    return user


# --- password policy: changes forced at sign-in ---------------------------------------------------


@transaction.atomic
def password_change_at_sign_in(*, user: User, new_password: str, reason: str, request=None) -> User:
    """Change a password the sign-in flow found too old (org policy) or flagged by an administrator.

    The flow has just verified the current password, so it is not asked again; the new one must
    differ from it. Like any change, other sessions end, OAuth tokens are revoked and the user is told.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.check_password(new_password):
        raise DomainError("Choose a password different from your current one.", field="password")
    password_apply(user=user, password=new_password)
    token_void(user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET)
    sessions_ended = _sessions_end_others(user=user, request=request)
    tokens_revoked = tokens_revoke(user=user, reason="password.changed")
    _password_changed_notice(user=user, how="changed")
    account_event_record(action="password.changed", actor=user, org=user_mail_org(user), user=user, request=request,
                         metadata={"reason": reason, "at_sign_in": True, "sessions_ended": sessions_ended,
                                   "tokens_revoked": tokens_revoked})
    return user


@transaction.atomic
def user_password_change_require(*, org, user: User, actor, request=None) -> PasswordChangeRequired:
    """An org admin makes `user` choose a new password at their next sign-in.

    Like a reset, only for users who belong to `org` alone; anyone else is a platform operator's
    matter (org=None, by an operator). Asking twice keeps the first request.
    """
    if org is None:
        if not getattr(actor, "is_superuser", False):
            raise NotAllowed("Only a platform operator can require this outside an organization.")
    else:
        only_in_org_check(org=org, user=user)
    required, created = PasswordChangeRequired.objects.get_or_create(
        user=user, defaults={"org": org, "required_by": actor if getattr(actor, "pk", None) else None})
    if created:
        audit_record(action="password.change_required", actor=actor, org=org, target=user, request=request,
                     metadata={"email": user.email})
    return required


# --- groups: console edits -----------------------------------------------------------------------


@transaction.atomic
def group_update(*, group: Group, name: str, description: str, actor, request=None) -> Group:
    """Rename or describe a group. The slug never changes: tokens carry it in the `groups` claim,
    so relying parties keep matching on it after a rename. Saving unchanged values writes nothing."""
    group = Group.objects.select_for_update().get(pk=group.pk)
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise DomainError("A group needs a name.", field="name")
    before = {"name": group.name, "description": group.description}
    after = {"name": name, "description": description}
    if before == after:
        return group
    group.name, group.description = name, description
    group.save(update_fields=["name", "description"])
    audit_record(action="group.updated", actor=actor, org=group.org, target=group, request=request,
                 metadata={"slug": group.slug, "before": before, "after": after})
    return group


@transaction.atomic
def group_members_add(*, group: Group, users: list[User], actor, request=None) -> list[User]:
    """Add several users at once, all or none: if one is refused (not a member of the org), the
    others are rolled back too. Returns those newly added; users already in the group are skipped."""
    already = set(GroupMembership.objects.filter(group=group, user__in=users).values_list("user_id", flat=True))
    added = []
    for user in users:
        if user.pk in already:
            continue
        group_member_add(group=group, user=user, actor=actor, request=request)
        already.add(user.pk)
        added.append(user)
    return added


# Audit metadata keeps at most this many member emails; the count is always exact.
GROUP_DELETE_AUDITED_EMAILS = 100


@transaction.atomic
def group_delete(*, group: Group, actor, request=None) -> None:
    """Delete a group, its memberships and its role grants, and tell each member by email.

    Refused (NotAllowed) while the group is the only group an application is limited to: an
    application with no allowed groups is open to every member of the org, so deleting it would
    silently widen access. Locking the group row makes a concurrent "limit this app to the group"
    wait for us and then fail on the foreign key, so the check cannot be raced.
    """

    group = Group.objects.select_for_update().select_related("org").get(pk=group.pk)
    impact = group_delete_impact(group=group)
    if impact.sole_group_apps:
        names = ", ".join(app.name for app in impact.sole_group_apps)
        raise NotAllowed(
            f"{group.name} is the only group allowed to use {names}. Deleting it would open "
            f"{'that application' if len(impact.sole_group_apps) == 1 else 'those applications'} to "
            f"every member of {group.org.name}. Change the allowed groups first."
        )
    members = list(group.members.order_by("email"))
    for user in members:
        _group_change_notify(group=group, user=user, template="group_removed")
    audit_record(action="group.deleted", actor=actor, org=group.org, target=group, request=request,
                 metadata={
                     "name": group.name, "slug": group.slug, "description": group.description,
                     "members": len(members),
                     "member_emails": [u.email for u in members[:GROUP_DELETE_AUDITED_EMAILS]],
                     "applications_limited": [{"id": a.pk, "name": a.name} for a in impact.limited_apps],
                     "app_roles": [{"application": r.application.name, "key": r.key} for r in impact.app_roles],
                 })
    group.delete()


# --- profile --------------------------------------------------------------------------------------


@transaction.atomic
def user_profile_update(*, org, user: User, full_name: str, actor, request=None) -> User:
    """An org admin edits `user`'s profile (the full name). Only for users who belong to `org` alone
    (DESIGN.md): a profile shared with other orgs is a platform operator's matter. An unchanged
    name writes nothing."""
    only_in_org_check(org=org, user=user)
    full_name = (full_name or "").strip()
    limit = User._meta.get_field("full_name").max_length
    if len(full_name) > limit:
        raise DomainError(f"A full name has at most {limit} characters.", field="full_name")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"full_name": user.full_name}
    if before["full_name"] == full_name:
        return user
    user.full_name = full_name
    user.save(update_fields=["full_name", "updated_at"])
    audit_record(action="user.updated", actor=actor, org=org, target=user, request=request,
                 metadata={"email": user.email, "before": before, "after": {"full_name": full_name}})
    return user

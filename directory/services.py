"""Writes to users and groups. Each is atomic and records its audit event."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from applications.tokens import tokens_revoke
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError
from directory.models import Group, GroupMembership, User
from identity.models import UserSession
from orgs.models import Membership


def normalize_email(email: str) -> str:
    """Trim and lower-case the domain; the local part keeps its case but uniqueness ignores it."""
    email = (email or "").strip()
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if local else email


@transaction.atomic
def user_create(
    *, email: str, password: str | None, full_name: str = "", actor=None, request=None,
    is_superuser: bool = False, email_verified: bool = False, check_password_policy: bool = True,
) -> User:
    """Create a global identity. Emails are unique regardless of case.

    A password of None leaves the account without a usable password (set later by invitation).
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
            validate_password(password, user=user)
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
    return user


@transaction.atomic
def group_create(*, org, name: str, slug: str = "", description: str = "", actor=None, request=None) -> Group:
    """Create a group in `org`; its slug is unique within the org."""
    name = name.strip()
    if not name:
        raise DomainError("A group needs a name.", field="name")
    slug = slugify(slug or name)
    if not slug:
        raise DomainError("A group's slug needs at least one letter or digit.", field="slug")
    if Group.objects.for_org(org).filter(slug=slug).exists():
        raise AlreadyExists(f"A group with the slug “{slug}” already exists in {org.name}.", field="slug")
    group = Group.objects.create(org=org, name=name, slug=slug, description=description)
    audit_record(action="group.created", actor=actor, org=org, target=group, request=request,
                 metadata={"name": name, "slug": slug})
    return group


@transaction.atomic
def group_member_add(*, group: Group, user: User, actor=None, request=None) -> GroupMembership:
    """Add `user` to `group`. Only members of the group's org may join its groups."""
    if not Membership.objects.filter(org=group.org, user=user).exists():
        raise DomainError(f"{user.email} is not a member of {group.org.name}.", field="user")
    existing = GroupMembership.objects.filter(group=group, user=user).first()
    if existing:
        return existing
    group_membership = GroupMembership.objects.create(group=group, user=user)
    audit_record(action="group.member_added", actor=actor, org=group.org, target=group, request=request,
                 metadata={"user": user.email})
    return group_membership


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
    sessions_ended = UserSession.objects.live().filter(user=user).update(
        ended_at=timezone.now(), end_reason=UserSession.EndReason.REVOKED
    )
    audit_record(action="user.disabled", actor=actor, target=user, request=request,
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
    audit_record(action="user.enabled", actor=actor, target=user, request=request,
                 metadata={"email": user.email, "before": before, "after": user.status, "reason": reason})
    return user

"""Changing an account's email address, asked for by its owner or an org admin; confirmed by the new address."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.models import User
from directory.selectors import user_mail_org
from directory.services import account_event_record, normalize_email, only_in_org_check
from emailqueue.services import email_enqueue
from identity.models import OneTimeToken
from identity.tokens import EMAIL_CHANGE_LIFETIME, token_get, token_issue, token_link, token_use, token_void


def _email_taken(email: str, *, user: User) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists()


@transaction.atomic
def email_change_request(*, user: User, new_email: str, current_password: str, request=None) -> None:
    """Ask to move the account to `new_email`; nothing changes until the new address confirms.

    The current password is required (a borrowed session must not redirect the account's mail).
    The confirmation link goes to the new address and voids earlier ones; the old address is told.
    An address that already belongs to another account gets a note instead of a link, and the page
    answers the same either way, so the form cannot be used to find out who has an account.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(current_password):
        raise DomainError("Your current password is not correct.", field="current_password")
    _email_change_start(user=user, new_email=new_email, actor=user, request=request)


@transaction.atomic
def user_email_change_request(*, org, user: User, new_email: str, actor: User, request=None) -> None:
    """An org admin asks to move `user` to `new_email`; as for the user's own request, nothing changes
    until the new address confirms, signed in as `user`, and a taken address gets a note instead.

    Only for users who belong to `org` alone and are not operators (DESIGN.md). An admin's own
    address goes through the account page, with the password, so a borrowed console session cannot
    move it. A user who cannot sign in (no password yet, or disabled) could never confirm: refused.
    """
    if user.is_superuser:
        # Checked first for a message that says why; only_in_org_check would call them a non-member.
        raise NotAllowed(f"{user.email} is a platform operator; only a platform operator can change their address.")
    only_in_org_check(org=org, user=user)
    if user.pk == actor.pk:
        raise NotAllowed("Change your own email address on your account page; it asks for your password.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise NotAllowed(f"{user.email} is disabled; enable the account first.")
    if not user.has_usable_password():
        raise NotAllowed(f"{user.email} has not set a password yet, so they could not sign in to confirm a new "
                         "address. If the invitation went to the wrong address, remove it and invite the right one.")
    _email_change_start(user=user, new_email=new_email, actor=actor, request=request, by_org=org)


def _email_change_start(*, user: User, new_email: str, actor: User, request, by_org=None) -> None:
    """The shared core: check the address, send the link (or the taken note) and the notice, audit.

    `user` is locked by the caller. `by_org` names the org whose admin asked; the emails say so.
    """
    new_email = normalize_email(new_email)
    try:
        validate_email(new_email)
    except ValidationError:
        raise DomainError(f"“{new_email}” is not a valid email address.", field="new_email") from None
    if new_email.lower() == user.email.lower():
        raise DomainError("This is already your email address." if by_org is None
                          else f"{user.email} already has this address.", field="new_email")
    org = by_org if by_org is not None else user_mail_org(user)
    requested_by = by_org.name if by_org is not None else ""
    taken = _email_taken(new_email, user=user)
    if taken:
        email_enqueue(to=new_email, template="email_change_taken", kind="email_change", org=org, context={})
    else:
        token, raw = token_issue(purpose=OneTimeToken.Purpose.EMAIL_CHANGE, user=user,
                                 lifetime=EMAIL_CHANGE_LIFETIME, email=new_email)
        email_enqueue(to=new_email, template="email_change_confirm", kind="email_change", org=org,
                       context={"user": user, "new_email": new_email, "requested_by_org": requested_by,
                                "link": token_link(purpose=token.purpose, raw=raw),
                                "expires_hours": int(EMAIL_CHANGE_LIFETIME.total_seconds() // 3600)})
    email_enqueue(to=user.email, template="email_change_requested", kind="email_change", org=org,
                   context={"user": user, "new_email": new_email, "requested_by_org": requested_by})
    metadata = {"before": user.email, "after": new_email, "taken": taken}
    if by_org is not None:
        metadata["by_admin"] = True
    audit_record(action="email.change_requested", actor=actor, org=org, target=user, request=request,
                 metadata=metadata)


def email_change_get(*, raw_token: str, user: User) -> OneTimeToken:
    """The live email-change link for `raw_token`, which only the account that asked may confirm."""
    token = token_get(purpose=OneTimeToken.Purpose.EMAIL_CHANGE, raw=raw_token)
    if token.user_id != user.pk:
        raise NotAllowed("This link belongs to another account. Sign in as the account that asked for the change.")
    return token


@transaction.atomic
def email_change_confirm(*, raw_token: str, user: User, request=None) -> User:
    """Move the account to the address the link was sent to, and tell the old address.

    The confirming browser must be signed in as the account that asked: a link that reached the
    wrong mailbox (a typo) cannot hand the account to whoever owns it. Reset links sent to the old
    address are voided.
    """
    token = token_get(purpose=OneTimeToken.Purpose.EMAIL_CHANGE, raw=raw_token, for_update=True)
    if token.user_id != user.pk:
        raise NotAllowed("This link belongs to another account. Sign in as the account that asked for the change.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if _email_taken(token.email, user=user):
        raise AlreadyExists("This address now belongs to another account, so it cannot be yours.", field="email")
    token_use(token=token)
    before = user.email
    user.email = token.email
    user.email_verified = True
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified", "updated_at"])
    except IntegrityError:
        raise AlreadyExists("This address now belongs to another account, so it cannot be yours.",
                            field="email") from None
    token_void(user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET)
    org = user_mail_org(user)
    email_enqueue(to=before, template="email_changed", kind="email_changed", org=org,
                   context={"user": user, "old_email": before, "new_email": user.email})
    account_event_record(action="email.changed", actor=user, org=org, user=user, request=request,
                         metadata={"before": before, "after": user.email})
    return user

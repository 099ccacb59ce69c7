"""Reads of passkeys that other parts of Gatehouse need (the MFA policy, the account security page)."""

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from directory.models import User
from identity.passkeys.models import Passkey, PasskeyUser
from orgs.models import Membership, Organization


def user_passkey_count(*, user: User) -> int:
    """How many passkeys the user has registered (a factor for the MFA policy)."""
    return Passkey.objects.filter(user=user).count()


def passkey_list(*, user: User) -> QuerySet[Passkey]:
    """The user's own passkeys, oldest first."""
    return Passkey.objects.filter(user=user).order_by("created_at", "pk")


def passkey_user_handle_get(*, user: User) -> str | None:
    """The account's WebAuthn user handle, or None before its first passkey options."""
    return PasskeyUser.objects.filter(user=user).values_list("handle", flat=True).first()


def passkey_get(*, user: User, pk) -> Passkey:
    """One of the user's own passkeys; anyone else's, or an unknown id, is a 404."""
    try:
        return Passkey.objects.get(user=user, pk=int(pk))
    except (Passkey.DoesNotExist, TypeError, ValueError):
        raise Http404 from None


def passkey_sign_in_refusal(*, user: User) -> str:
    """Why `user` may not sign in with a passkey alone, or "". The same rules as a password sign-in:
    a disabled account, or every membership suspended (people with no membership yet may sign in)."""
    if not user.is_active:
        return _("This account is disabled. Contact your administrator.")
    if user.is_superuser:
        return ""
    memberships = list(Membership.objects.filter(user=user).select_related("org"))
    in_force = [m for m in memberships
                if m.status != Membership.Status.SUSPENDED and m.org.status == Organization.Status.ACTIVE]
    if memberships and not in_force:
        return _("Your access to %(orgs)s is suspended. Contact your administrator.") % {
            "orgs": ", ".join(sorted(m.org.name for m in memberships))}
    return ""

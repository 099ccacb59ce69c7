"""Where to send a browser after sign-in, and which `next` values we follow."""

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from orgs.permissions import membership_opens_console
from orgs.selectors import user_memberships


def safe_next_url(request, candidate: str | None) -> str:
    """`candidate` if it stays on this site, else "" — never an open redirect."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def landing_url(user) -> str:
    """The console for operators and org staff, the account page for everyone else."""
    if user.is_superuser or any(membership_opens_console(m) for m in user_memberships(user=user)):
        return reverse("console:home")
    return reverse("identity:account")

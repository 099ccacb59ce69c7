"""Template context for the console layout: the org switcher."""

from functools import partial

from orgs.permissions import console_memberships


def console(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A callable: templates evaluate it only on pages that show the switcher.
    return {"console_memberships": partial(console_memberships, user)}

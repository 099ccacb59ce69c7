"""Step-up for sensitive console actions: whether this browser authenticated recently enough, the record
a confirmation leaves, and the one decorator that gates a console view's POST (docs/step-up.md).

"Recently" is the later of the session's sign-in (`UserSession.auth_time`) and its last step-up, within
GATEHOUSE_STEP_UP_SECONDS. A step-up is kept in the Django session, bound to the UserSession's sid: it
creates no session, changes no `auth_time` or `amr` an application sees, and dies with the sign-in.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from directory.models import User
from identity.models import UserSession
from identity.redirects import safe_next_url

ViewClass = TypeVar("ViewClass", bound=type)

STEP_UP_SESSION_KEY = "gatehouse.step_up"
PENDING_SESSION_KEY = "gatehouse.step_up.pending"
# A pending action older than this is forgotten: the page then just confirms and goes to the account.
PENDING_MAX_AGE_SECONDS = 30 * 60

# The sensitive actions, a closed vocabulary: the key goes to the audit row, the phrase completes
# "Confirm it's you to …" and "Confirmed — you can now …". A new gated view adds its line here.
ACTIONS: dict[str, Promise] = {
    "application.secret_rotate": _("rotate the client secret"),
    "application.delete": _("delete the application"),
    "app_role.delete": _("delete the app role"),
    "api.secret_rotate": _("rotate the API's introspection secret"),
    "api.delete": _("delete the API"),
    "api_key.create": _("create an API key"),
    "api_key.revoke": _("revoke the API key"),
    "api_key.delete": _("delete the API key"),
    "group.delete": _("delete the group"),
    "webhook.secret_rotate": _("replace the webhook endpoint's signing secret"),
    "webhook.delete": _("delete the webhook endpoint"),
    "audit.retention_change": _("change how long audit events are kept"),
    "membership.role_change": _("change the member's role"),
    "membership.remove": _("remove the member"),
    "mfa.reset": _("reset the member's two-step verification"),
    "organization.settings_change": _("change the organization's settings"),
    "organization.status_change": _("suspend or reactivate the organization"),
}

GENERIC_ACTION = _("continue")


class Method:
    """How the person confirmed (the audit row's `method`)."""

    PASSWORD = "password"
    TOTP = "totp"
    RECOVERY = "recovery"
    PASSKEY = "passkey"


def step_up_seconds() -> int:
    return settings.GATEHOUSE_STEP_UP_SECONDS


def _user_session(request: HttpRequest) -> UserSession | None:
    """The signed-in browser's UserSession (identity.middleware.UserSessionMiddleware sets it)."""
    return getattr(request, "user_session", None)


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person (the step-up page and the gated views are for signed-in people only)."""
    if not isinstance(request.user, User):
        raise TypeError("Step-up needs a signed-in user.")
    return request.user


def _authenticated_at(request: HttpRequest) -> datetime | None:
    """When this browser last proved who it is: its sign-in, or a later step-up of the same sign-in."""
    user_session = _user_session(request)
    if user_session is None:
        return None
    last = user_session.auth_time
    record = request.session.get(STEP_UP_SESSION_KEY)
    if isinstance(record, dict) and record.get("sid") == user_session.sid and isinstance(record.get("at"), float):
        last = max(last, datetime.fromtimestamp(record["at"], tz=UTC))
    return last


def step_up_recent(request: HttpRequest, *, now: datetime | None = None) -> bool:
    """Whether the signed-in browser authenticated within GATEHOUSE_STEP_UP_SECONDS (no step-up needed)."""
    last = _authenticated_at(request)
    if last is None:
        return False
    return ((now or timezone.now()) - last).total_seconds() <= step_up_seconds()


def action_phrase(key: str) -> str:
    return str(ACTIONS.get(key, GENERIC_ACTION))


# ---------------------------------------------------------------------- the pending action


def step_up_pending_set(request: HttpRequest, *, action: str, return_to: str, org=None) -> None:
    """Remember what the person was about to do, where to send them back, and the org it is in. Kept in the
    session rather than the URL, so no link can make the page say "Confirm it's you to <anything>"."""
    request.session[PENDING_SESSION_KEY] = {"action": action, "return_to": return_to,
                                            "org_id": getattr(org, "pk", None), "at": time.time()}


def step_up_pending(request: HttpRequest) -> dict | None:
    """The action waiting for a step-up, or None (none, malformed, or too old)."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict) or pending.get("action") not in ACTIONS:
        return None
    if not isinstance(pending.get("at"), float) or time.time() - pending["at"] > PENDING_MAX_AGE_SECONDS:
        return None
    return pending


def step_up_url(request: HttpRequest, *, action: str, return_to: str, org=None) -> str:
    """The step-up page's URL for `action`, after which the browser goes back to `return_to` (a local URL)."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown step-up action {action!r}: add it to identity.step_up.ACTIONS.")
    step_up_pending_set(request, action=action, return_to=safe_next_url(request, return_to), org=org)
    return reverse("identity:step-up")


# ---------------------------------------------------------------------- the record of a confirmation


def step_up_confirm(*, request: HttpRequest, method: str, org=None) -> str:
    """Record that the signed-in person just proved it is them: the session counts as recently
    authenticated again (same session, same sid). Audited as `step_up.succeeded` in the pending action's
    org (platform-level otherwise). Returns where to go next and says so in a message."""
    pending = step_up_pending(request)
    user_session = _user_session(request)
    if user_session is None:
        raise TypeError("Step-up needs a signed-in browser session.")
    request.session[STEP_UP_SESSION_KEY] = {"sid": user_session.sid, "at": time.time()}
    request.session.pop(PENDING_SESSION_KEY, None)
    action = pending["action"] if pending else ""
    user = signed_in_user(request)
    audit_record(action="step_up.succeeded", actor=user, org=org, target=user, request=request,
                 metadata={"method": method, "for": action, "sid": user_session.sid})
    if pending and pending.get("return_to"):
        messages.success(request, gettext("Confirmed — you can now %(action)s.") % {"action": action_phrase(action)})
        return pending["return_to"]
    messages.success(request, gettext("Confirmed — it's you."))
    return ""


def step_up_failed_record(*, request: HttpRequest, method: str, reason: str, org=None) -> None:
    """Audit a refused confirmation (`step_up.failed`), with the method tried and why."""
    pending = step_up_pending(request)
    user = signed_in_user(request)
    audit_record(action="step_up.failed", actor=user, org=org, target=user, request=request,
                 metadata={"method": method, "reason": reason, "for": pending["action"] if pending else ""})


# ---------------------------------------------------------------------- gating a console view


def _return_to(view: Any, request: HttpRequest) -> str:
    """Where the person finds the action's form again: the same URL when the view shows it on GET; for
    POST-only actions (a button on another page), the page the button was on, when it is ours."""
    if "get" in view.http_method_names and hasattr(view, "get"):
        return request.get_full_path()
    referer = safe_next_url(request, request.META.get("HTTP_REFERER", ""))
    return referer or reverse("console:home")


def _gated(method: Callable[..., HttpResponse], action: str, *, back_to_this_page: bool) -> Callable[..., HttpResponse]:
    @wraps(method)
    def gated(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not step_up_recent(request):
            return_to = request.get_full_path() if back_to_this_page else _return_to(self, request)
            return redirect(step_up_url(request, action=action, return_to=return_to, org=getattr(self, "org", None)))
        return method(self, request, *args, **kwargs)

    return gated


def step_up_required(action: str, *, ask_on_get: bool = False) -> Callable[[ViewClass], ViewClass]:
    """Class decorator for a console view: its POST needs a recent authentication, else the browser goes
    to the step-up page and comes back to the action's form (the POST is never replayed: the person
    submits it again, knowingly). Wrapping `post`, not `dispatch`, keeps the org and permission checks
    (a 404 for another org) ahead of it, whatever order the base classes come in.

    `ask_on_get`: the view's GET page is the action's own form or confirmation (nothing to read there
    otherwise), so ask before showing it rather than after the person filled it in. The POST stays the gate.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown step-up action {action!r}: add it to identity.step_up.ACTIONS.")

    def decorate(view_class: ViewClass) -> ViewClass:
        view: Any = view_class  # a class-based view: its handlers are replaced by gated ones
        view.post = _gated(view.post, action, back_to_this_page=False)
        if ask_on_get:
            view.get = _gated(view.get, action, back_to_this_page=True)
        view.step_up_action = action
        return view_class

    return decorate

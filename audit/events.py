"""The one catalogue of audit actions, which of them webhooks may subscribe to, and who listens for new events.

An action is `<noun>.<past-verb>` (STYLE.md). The webhook-visible ones are the event types an org's
webhook endpoints subscribe to (docs/webhooks.md): a delivery's `type` is the action's name, so the
audit log and the webhooks speak one vocabulary. A new action goes here in the same change that
records it (audit/tests/test_events.py checks the code against this list).

Listeners: a module above audit (webhooks) registers a function in its AppConfig.ready(); new events
are handed to each listener inside the transaction that wrote them, so what a listener writes (an
outbox row) commits or rolls back with the event. audit never imports its listeners. Only events of
chains whose head says someone listens (AuditChain.listeners, set with audit_chain_listeners_set) are
handed over: an org without webhooks pays nothing for them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Action:
    name: str
    description: str | Promise  # translated when shown
    webhook: bool = False


def _a(name: str, description: str | Promise, *, webhook: bool = False) -> Action:
    return Action(name=name, description=description, webhook=webhook)


ACTIONS: tuple[Action, ...] = (
    # People and memberships
    _a("user.created", _("An account was created."), webhook=True),
    _a("user.updated", _("An account's profile changed."), webhook=True),
    _a("user.time_zone_changed", _("Someone chose the time zone they read times in.")),
    _a("user.disabled", _("An account was disabled."), webhook=True),
    _a("user.enabled", _("An account was enabled again."), webhook=True),
    _a("user.password_reset", _("An admin sent an account a password reset."), webhook=True),
    _a("user.exported", _("The member list was exported.")),
    _a("membership.created", _("Someone became a member."), webhook=True),
    _a("membership.updated", _("A membership changed (e.g. its employee id)."), webhook=True),
    _a("membership.role_changed", _("A member's role changed."), webhook=True),
    _a("membership.suspended", _("A member was suspended."), webhook=True),
    _a("membership.reactivated", _("A suspended member was reactivated."), webhook=True),
    _a("membership.removed", _("A member was removed."), webhook=True),
    _a("invitation.sent", _("An invitation was sent."), webhook=True),
    _a("invitation.resent", _("An invitation was sent again.")),
    _a("invitation.accepted", _("An invitation was accepted."), webhook=True),
    _a("user_import.uploaded", _("A CSV import was uploaded.")),
    _a("user_import.confirmed", _("A CSV import was confirmed.")),
    _a("user_import.cancelled", _("A CSV import was cancelled.")),
    _a("user_import.completed", _("A CSV import finished.")),
    _a("user_import.failed", _("A CSV import failed.")),
    # Groups
    _a("group.created", _("A group was created."), webhook=True),
    _a("group.updated", _("A group was renamed."), webhook=True),
    _a("group.deleted", _("A group was deleted."), webhook=True),
    _a("group.member_added", _("Someone was added to a group."), webhook=True),
    _a("group.member_removed", _("Someone was removed from a group."), webhook=True),
    # Applications, APIs, keys
    _a("application.created", _("An application was registered."), webhook=True),
    _a("application.updated", _("An application's settings changed."), webhook=True),
    _a("application.disabled", _("An application was disabled."), webhook=True),
    _a("application.enabled", _("An application was enabled again."), webhook=True),
    _a("application.deleted", _("An application was deleted."), webhook=True),
    _a("application.secret_rotated", _("An application's client secret was rotated."), webhook=True),
    _a("application.secret_overlap_ended", _("An application's previous client secret stopped working.")),
    _a("application.api_scopes_changed", _("An application's API scopes changed."), webhook=True),
    _a("app_role.created", _("An app role was created.")),
    _a("app_role.updated", _("An app role changed.")),
    _a("app_role.deleted", _("An app role was deleted.")),
    _a("api.created", _("An API was registered.")),
    _a("api.updated", _("An API changed.")),
    _a("api.deleted", _("An API was deleted.")),
    _a("api.secret_rotated", _("An API's introspection secret was rotated.")),
    _a("api_key.created", _("An API key was created.")),
    _a("api_key.revoked", _("An API key was revoked.")),
    _a("api_key.deactivated", _("An API key was deactivated.")),
    _a("api_key.reactivated", _("An API key was reactivated.")),
    _a("api_key.deleted", _("An API key was deleted.")),
    _a("consent.granted", _("Someone allowed an application.")),
    _a("consent.withdrawn", _("Someone withdrew an application's access.")),
    # Sign-in, sessions, lockouts
    _a("login.succeeded", _("Someone signed in.")),
    _a("login.failed", _("A sign-in failed.")),
    _a("login.throttled", _("A sign-in was refused: too many attempts.")),
    _a("login.refused", _("A signed-in person was refused an application.")),
    _a("login.authorized", _("A signed-in person was sent to an application.")),
    # A member's own sign-in, wherever it started, copied into each org the account is an active member of
    # (audit/fanout.py); the original stays in the platform's log, so these are counted only per org.
    _a("login.member_succeeded", _("A member signed in.")),
    _a("login.member_failed", _("A member's sign-in failed.")),
    _a("session.ended", _("A session ended (sign-out or revocation)."), webhook=True),
    _a("sessions.ended", _("Several of someone's sessions were ended at once."), webhook=True),
    _a("session.stepped_up", _("A session was confirmed with a second factor.")),
    _a("mfa.totp_added", _("An authenticator app was set up.")),
    _a("mfa.totp_removed", _("An authenticator app was removed.")),
    _a("mfa.recovery_codes_generated", _("New recovery codes were generated.")),
    _a("mfa.recovery_code_used", _("A recovery code was used.")),
    _a("mfa.failed", _("A second-factor code was wrong.")),
    _a("mfa.throttled", _("Second-factor attempts were paused: too many wrong codes.")),
    _a("mfa.enrolment_skipped", _("Someone put off setting up a second factor.")),
    _a("mfa.enrolment_refused", _("Someone past the grace period was refused until they set up a second factor.")),
    _a("mfa.reset", _("An administrator removed someone's second factors."), webhook=True),
    _a("step_up.succeeded", _("Someone confirmed it's them before a sensitive action.")),
    _a("step_up.failed", _("A confirmation before a sensitive action failed.")),
    _a("account.locked", _("An account was locked after failed sign-ins."), webhook=True),
    _a("account.unlocked", _("A locked account was unlocked."), webhook=True),
    _a("client.auth_throttled", _("An application's failed authentications were throttled.")),
    _a("token.code_replayed", _("An authorization code was used twice.")),
    _a("token.refresh_reused", _("A spent refresh token was used again: its family was revoked.")),
    _a("token.refresh_refused", _("A refresh token was refused.")),
    _a("password.changed", _("A password was changed."), webhook=True),
    _a("password.reset", _("A password was reset with a link.")),
    _a("password.reset_requested", _("A password reset was requested.")),
    _a("password.change_required", _("A password must be changed at the next sign-in.")),
    _a("email.change_requested", _("A change of email address was requested.")),
    _a("email.changed", _("An email address was changed."), webhook=True),
    _a("email.verification_sent", _("A link to verify an email address was sent.")),
    _a("email.verified", _("An email address was verified.")),
    _a("passkey.registered", _("A passkey was registered.")),
    _a("passkey.renamed", _("A passkey was renamed.")),
    _a("passkey.removed", _("A passkey was removed.")),
    _a("passkey.counter_regressed", _("A passkey's signature counter went backwards (a cloned key?).")),
    # The organization
    _a("organization.created", _("The organization was created.")),
    _a("organization.suspended", _("The organization was suspended.")),
    _a("organization.reactivated", _("The organization was reactivated.")),
    _a("organization.settings_updated", _("The organization's settings changed.")),
    _a("organization.branding_updated", _("The organization's branding changed.")),
    _a("organization.logo_changed", _("The organization's logo changed.")),
    _a("organization.logo_removed", _("The organization's logo was removed.")),
    _a("password_policy.updated", _("The password policy changed.")),
    # Outboxes and the platform
    _a("email.requeued", _("A message was sent again.")),
    _a("email.cancelled", _("A waiting message was cancelled.")),
    _a("backchannel_logout.requeued", _("A back-channel logout was sent again.")),
    _a("signing_key.created", _("A signing key was created.")),
    _a("signing_key.rotated", _("The signing key was rotated.")),
    _a("signing_key.deleted", _("A retired signing key was deleted.")),
    # Webhooks
    _a("webhook.created", _("A webhook endpoint was added.")),
    _a("webhook.updated", _("A webhook endpoint changed.")),
    _a("webhook.disabled", _("A webhook endpoint was disabled.")),
    _a("webhook.enabled", _("A webhook endpoint was enabled again.")),
    _a("webhook.deleted", _("A webhook endpoint was deleted.")),
    _a("webhook.secret_rotated", _("A webhook endpoint's signing secret was replaced.")),
    _a("webhook.test_sent", _("A test event was sent to a webhook endpoint.")),
    _a("webhook.delivery_requeued", _("A webhook delivery was sent again.")),
    # The audit log itself
    _a("audit.purged", _("Old audit events were purged; this event anchors the chain.")),
    _a("audit.exported", _("The audit log was exported.")),
    _a("audit.retention_changed", _("The audit log's retention changed.")),
)

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}
WEBHOOK_EVENTS: tuple[Action, ...] = tuple(action for action in ACTIONS if action.webhook)
WEBHOOK_EVENT_NAMES: frozenset[str] = frozenset(action.name for action in WEBHOOK_EVENTS)


def is_webhook_event(action: str) -> bool:
    return action in WEBHOOK_EVENT_NAMES


# ------------------------------------------------------------------------------------------ listeners

# Listeners get AuditEvent rows; typed loosely, as audit.models imports this module (no cycle, even for types).
AuditListener = Callable[[Sequence[Any]], object]
_listeners: list[AuditListener] = []


def audit_listener_register(listener: AuditListener) -> None:
    """Call `listener(events)` with every batch of new events, inside the transaction that wrote them."""
    if listener not in _listeners:
        _listeners.append(listener)


def audit_listeners_notify(events: Sequence[Any]) -> None:
    for listener in _listeners:
        listener(events)

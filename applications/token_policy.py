"""The token policy: every rule that decides whether a client gets, keeps or uses a token, written once.

GatehouseValidator (django-oauth-toolkit's path) and the lean paths (identity/oidc/lean_*.py) both ask
these functions and restate none of them. The lean paths read a client as a database row, not a model,
so each rule takes the plain values it needs; `client_facts` reads them off a model.

- the client: usable (the app active, its org active), allowed the grant, within its scope limits,
  authenticated by its current secret or by its previous one during a rotation overlap;
- the person: an active user with an active membership in the app's org, in one of the app's allowed
  groups when it is limited to some (`access_decision`; identity/oidc/access.py reads the membership);
- which clients the lean paths may answer for (`lean_client`): the rest is DOT's path, which applies
  the rules that only it implements (a secret in its rotation overlap, a scope limit).

A rule added later (an IP allow-list per application, say) belongs here, and both paths pick it up.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.utils.translation import gettext as _
from oauth2_provider.oauth2_validators import GRANT_TYPE_MAPPING

from applications.models import Application, application_usable
from orgs.models import Membership


class ClientFacts(NamedTuple):
    """What the rules read of a client: a lean path's row, or `client_facts(application)`."""

    client_type: str
    grant: str  # the registered grant (DOT's authorization_grant_type)
    status: str
    org_status: str
    allowed_scopes: str  # space-separated OpenID Connect scopes; empty: no limit
    previous_secret: str  # the previous secret's hash while a rotation overlap may run; empty: none


def client_facts(application: Application) -> ClientFacts:
    return ClientFacts(application.client_type, application.authorization_grant_type, application.status,
                       application.org.status, application.allowed_scopes, application.previous_client_secret)


# ------------------------------------------------------------------------------------------ the client

def client_usable(*, status: str, org_status: str) -> bool:
    """An active application of an active org. (Application.is_usable, the hook DOT asks, is this rule.)"""
    return application_usable(status=status, org_status=org_status)


def grant_allowed(*, grant: str, grant_type: str) -> bool:
    """The application's registered grant permits this grant type: django-oauth-toolkit's mapping, so a
    refresh is allowed to every grant that issues refresh tokens."""
    return grant in GRANT_TYPE_MAPPING.get(grant_type, ())


def authenticates_with_secret(*, client_type: str) -> bool:
    """Confidential clients authenticate with their secret; public ones (spa, native) by client_id
    alone, which is why client credentials is never theirs (RFC 6749 §4.4)."""
    return client_type == Application.CLIENT_CONFIDENTIAL


def previous_secret_live(*, previous_secret: str, expires_at: datetime | None, now: datetime) -> bool:
    """After a rotation with an overlap, the previous secret keeps working until its expiry."""
    return bool(previous_secret) and expires_at is not None and now < expires_at


def scopes_within_limit(*, scopes: Iterable[str], allowed_scopes: str, api_scopes: Iterable[str]) -> bool:
    """An app limited to some OpenID Connect scopes asks for no other (refused with invalid_scope, not
    narrowed: a narrowed grant looks like success to an RP that never reads the returned scope). API
    scopes are limited by the app's grants instead (identity/oidc/resources.py)."""
    if not allowed_scopes:
        return True
    return set(scopes) - set(api_scopes) <= set(allowed_scopes.split())


def default_scopes_within_limit(*, defaults: Iterable[str], allowed_scopes: str) -> list[str]:
    """A request naming no scope gets the defaults the app may have, not a refusal."""
    return [scope for scope in defaults if scope in allowed_scopes.split()] if allowed_scopes else list(defaults)


def bearer_token_usable(*, application: Application | None, user) -> bool:
    """A live access token is honoured (userinfo, introspection) while its application is usable and its
    person, if it has one, is not disabled. A suspended membership revokes the person's tokens instead
    (identity's session services), which costs this check nothing."""
    if application is None or not application.is_usable(None):
        return False
    return user is None or user.is_active


def lean_client(facts: ClientFacts) -> bool:
    """Whether a lean path may answer for this client: a usable one whose requests no rule of DOT's path
    alone treats specially (a previous secret that may still be in its overlap, a scope limit)."""
    return (client_usable(status=facts.status, org_status=facts.org_status)
            and not facts.previous_secret and not facts.allowed_scopes)


# ------------------------------------------------------------------------------------------ the person

@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""  # a closed vocabulary for audit metadata
    message: str = ""  # what the person is told


ALLOWED = AccessDecision(True)


class MembershipRow(NamedTuple):
    """What the access rule reads of the database: the user's membership status in the app's org
    (None: not a member), whether the app is limited to groups, and whether the user is in one."""

    status: str | None
    app_limited: bool
    in_allowed_group: bool


def access_decision(*, user, application: Application, membership: MembershipRow) -> AccessDecision:
    """Who may sign in to an application, at /authorize and again at every refresh: an active user with
    an active membership in the app's org, the app and org active, and — when the app is limited to
    groups — a member of one of them."""
    return status_refusal(user=user, application=application) \
        or _membership_refusal(application, membership) or ALLOWED


def status_refusal(*, user, application: Application) -> AccessDecision | None:
    """The part of access_decision that needs no membership row (asked first, so a refusal reads none)."""
    org = application.org
    if not user.is_active:
        return AccessDecision(False, "user_disabled", _("Your account is disabled."))
    if application.status != Application.Status.ACTIVE:
        return AccessDecision(False, "application_disabled",
                              _("%(app)s is disabled. Contact your administrator.") % {"app": application.name})
    if not org.is_active:
        return AccessDecision(False, "org_suspended",
                              _("%(org)s is suspended. Contact your administrator.") % {"org": org.name})
    return None


def _membership_refusal(application: Application, membership: MembershipRow) -> AccessDecision | None:
    org = application.org
    if membership.status is None:
        return AccessDecision(False, "not_a_member",
                              _("Your account is not a member of %(org)s, which owns %(app)s.")
                              % {"org": org.name, "app": application.name})
    if membership.status != Membership.Status.ACTIVE:
        label = str(dict(Membership.Status.choices).get(membership.status, membership.status))  # get_status_display
        return AccessDecision(False, f"membership_{membership.status}",
                              _("Your membership of %(org)s is %(status)s.")
                              % {"org": org.name, "status": label.lower()})
    if membership.app_limited and not membership.in_allowed_group:
        return AccessDecision(False, "not_in_allowed_groups",
                              _("%(app)s is limited to some groups of %(org)s, and you are in none of them.")
                              % {"app": application.name, "org": org.name})
    return None

"""The sign-in flow: one small record in the session, advanced step by step.

Each step (password, second factor, passkey; email codes later) verifies one factor and appends its
method to `methods`, which becomes the OIDC `amr` (identity/mfa/assurance.py). Django's login() runs
only when no step is left, so a half-finished flow never yields a signed-in session.
"""

import time
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from config.compiled_queries import CompiledQuery, first_row
from config.postgresql.client_rows import client_rows
from identity.mfa.assurance import ACR_PWD, acr_requested, methods_are_multi_factor
from identity.mfa.selectors import SECOND_FACTORS, user_factor_kinds, user_mfa_requirement
from identity.password_policy import password_change_reason
from orgs.models import Organization

FLOW_SESSION_KEY = "gatehouse.login_flow"
# A flow left half-way (password typed, MFA never answered) is forgotten after this long.
FLOW_MAX_AGE_SECONDS = 10 * 60
# What the sign-in pages read of the flow's org (flow_org, flow_origin_note): its audit log and lockout threshold.
_FLOW_ORG_FIELDS = ("pk", "slug", "lockout_threshold")
# Read by the sign-in page and its POST whenever an app sent the browser: its SQL is built once, and its row
# kept until the org or app changes (config/postgresql/client_rows.py).
_FLOW_ORG_OF_CLIENT = CompiledQuery(lambda client_id: first_row(
    Organization.objects.filter(applications__client_id=client_id, status=Organization.Status.ACTIVE)
    .only(*_FLOW_ORG_FIELDS)), "stand-in-client-id", cache=client_rows)


@dataclass
class LoginFlow:
    next_url: str = ""
    user_id: int | None = None
    methods: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    # Where the flow began, when an application sent the user here (set by /authorize later).
    org_id: int | None = None
    client_id: str = ""
    # The user chose "not now" on the second-factor enrolment step while their grace window runs.
    enrol_skipped: bool = False
    # An application asked for this level (acr_values, identity/mfa/assurance.py) or its org's policy
    # requires MFA: the flow steps up a session that is already signed in (step_up) or a new sign-in.
    acr: str = ""
    step_up: bool = False
    # The user's second factors ("totp", "passkey", "recovery": identity/mfa/selectors.py), read once when
    # the flow first needs them and kept: the second-factor step's pages would otherwise read them on every
    # request. None: not read yet. The step reads them again after a wrong code (one may have been removed).
    factors: list[str] | None = None

    @property
    def expired(self) -> bool:
        return time.time() - self.started_at > FLOW_MAX_AGE_SECONDS

    def user_factors(self, user) -> list[str]:
        if self.factors is None:
            self.factors = user_factor_kinds(user=user)
        return self.factors

    def remaining_steps(self, user) -> list[str]:
        """What the user must still do before login(): the single place that decides the steps.

        First a password (or a passkey on its own, which the passkey step records as `hwk`/`swk`).
        Then a second factor: always for a user who has one, and for one who has none when a policy
        covering them requires it or the application asked for MFA (`mfa_enrol`: setting one up; a
        user in their grace window may skip it). A user-verified passkey alone already is MFA
        (identity/mfa/assurance.py). Last, when the org policy says the password is too old or an
        administrator asked for it, choosing a new one: after the second factor, so a stolen password
        alone cannot change the password.
        """
        if not self.methods:
            return ["password"]
        if not methods_are_multi_factor(self.methods):
            if SECOND_FACTORS.intersection(self.user_factors(user)):
                return ["mfa"]
            if self.acr and self.acr != ACR_PWD:
                return ["mfa_enrol"]
            requirement = user_mfa_requirement(user=user)
            if requirement.required and not (self.enrol_skipped and requirement.in_grace()):
                return ["mfa_enrol"]
        if "pwd" in self.methods and password_change_reason(user=user):
            return ["password_change"]
        return []


# Where each step after the first is answered (the password step is the sign-in page itself).
STEP_URL_NAMES = {"password": "identity:login", "password_change": "identity:login-password-change",
                  "mfa": "identity:login-verify", "mfa_enrol": "identity:login-enrol"}


def flow_step_url(step: str) -> str:
    return reverse(STEP_URL_NAMES[step])


def flow_load(session) -> LoginFlow | None:
    data = session.get(FLOW_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        flow = LoginFlow(**data)
    except TypeError:
        return None
    return None if flow.expired else flow


def flow_save(session, flow: LoginFlow) -> None:
    session[FLOW_SESSION_KEY] = asdict(flow)


def flow_clear(session) -> None:
    session.pop(FLOW_SESSION_KEY, None)


def _authorize_param(next_url: str, name: str) -> str:
    """The first `name` parameter of `next_url` when it is our /oauth/authorize, else ""."""
    parts = urlsplit(next_url or "")
    if parts.path != reverse("oidc:authorize"):
        return ""
    return (parse_qs(parts.query).get(name) or [""])[0]


def _origin(next_url: str) -> tuple[str, Organization | None]:
    """The client_id `next_url` names (our /oauth/authorize), and its active org (one cached read), if any."""
    client_id = _authorize_param(next_url, "client_id")[:100]
    return client_id, (_FLOW_ORG_OF_CLIENT.first(client_id) if client_id else None)


def flow_origin_org(next_url: str) -> Organization | None:
    """The active org whose application sent the browser to sign in (a `next` that is our /oauth/authorize
    with a known client_id), with what flow_org reads; else None. Its row is cached (client_rows), so
    asking again within a request costs nothing."""
    return _origin(next_url)[1]


def flow_origin_note(session, next_url: str, *, start: bool = True) -> Organization | None:
    """Remember in the flow which org's application sent the browser to sign in (flow_origin_org), or
    forget a previous one: the org's branding and lockout threshold follow. Saves a flow only when there
    is an org to remember. `start=False` (the sign-in page's GET) starts no flow: only one already in the
    session is brought up to date, so a browser that merely looks at the page gets no session written;
    the POST notes the org when it starts the flow. Returns that org, or None."""
    client_id, org = _origin(next_url)
    flow = flow_load(session)
    if org is None:
        if flow is not None and flow.org_id is not None:
            flow.org_id, flow.client_id = None, ""
            flow_save(session, flow)
        return None
    if flow is None and not start:
        return org
    flow = flow or LoginFlow()
    if (flow.org_id, flow.client_id) != (org.pk, client_id):
        flow.org_id, flow.client_id = org.pk, client_id
        flow_save(session, flow)
    return org


def flow_acr_of_next(next_url: str) -> str:
    """The level an application asked for with acr_values, when `next` is our /oauth/authorize."""
    return acr_requested(_authorize_param(next_url, "acr_values")[:500]) or ""


def flow_org(flow: LoginFlow | None):
    """The active org whose application started this sign-in, or None. Its lockout threshold holds
    for every email typed in the flow, known or not, and its audit log sees the flow's failures."""
    if flow is None or flow.org_id is None:
        return None
    return (Organization.objects.filter(pk=flow.org_id, status=Organization.Status.ACTIVE)
            .only(*_FLOW_ORG_FIELDS).first())

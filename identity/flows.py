"""The sign-in flow: one small record in the session, advanced step by step.

Each step (password now; MFA, passkeys and email codes later) verifies one factor and appends its
method to `methods`, which becomes the OIDC `amr`. Django's login() runs only when no step is
left, so a half-finished flow never yields a signed-in session.
"""

import time
from dataclasses import asdict, dataclass, field

FLOW_SESSION_KEY = "gatehouse.login_flow"
# A flow left half-way (password typed, MFA never answered) is forgotten after this long.
FLOW_MAX_AGE_SECONDS = 10 * 60


@dataclass
class LoginFlow:
    next_url: str = ""
    user_id: int | None = None
    methods: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    # Where the flow began, when an application sent the user here (set by /authorize later).
    org_id: int | None = None
    client_id: str = ""

    @property
    def expired(self) -> bool:
        return time.time() - self.started_at > FLOW_MAX_AGE_SECONDS

    def remaining_steps(self, user) -> list[str]:
        """What the user must still prove. Only the password exists today; MFA plugs in here."""
        return [] if "pwd" in self.methods else ["password"]


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

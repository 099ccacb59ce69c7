"""The org MFA policy and acr_values on a session already signed in: send it through the sign-in flow's
second-factor step (or enrolment) and back, rather than refuse it. /oauth/authorize and the org console
ask here; the sign-in itself applies the policy in LoginFlow.remaining_steps."""

from django.http import HttpResponseRedirect

from identity.flows import LoginFlow, flow_save, flow_step_url
from identity.mfa.assurance import ACR_PWD, methods_are_multi_factor
from identity.mfa.selectors import org_requires_mfa, user_has_factor, user_mfa_requirement
from orgs.models import Organization


def session_step_up_flow(request, *, org: Organization, acr: str | None = None,
                         client_id: str = "") -> tuple[LoginFlow, str] | None:
    """The flow and its first step when the signed-in session must prove more, else None.

    It must when it was signed in with one factor and `acr` asks for more (an app's acr_values), or
    `org`'s policy covers the user and they have a factor (the session predates it) or their grace
    window has ended. A user in their grace window without a factor is let through, as at sign-in.
    """
    user = request.user
    user_session = getattr(request, "user_session", None)
    amr = list(user_session.amr) if user_session is not None else []
    if methods_are_multi_factor(amr):
        return None
    app_asks = acr is not None and acr != ACR_PWD
    if not app_asks:
        if not org_requires_mfa(org=org, user=user):
            return None
        if not user_has_factor(user=user) and user_mfa_requirement(user=user).in_grace():
            return None
    flow = LoginFlow(next_url=request.get_full_path(), user_id=user.pk,
                     methods=[method for method in amr if method != "mfa"] or ["pwd"], step_up=True,
                     acr=acr if acr is not None and app_asks else "", org_id=org.pk, client_id=client_id)
    steps = flow.remaining_steps(user)
    return (flow, steps[0]) if steps else None


def org_console_step_up(request, org: Organization) -> HttpResponseRedirect | None:
    """For the org console: a redirect to the step this session still owes `org`'s MFA policy, or None."""
    pending = session_step_up_flow(request, org=org)
    if pending is None:
        return None
    flow, step = pending
    flow_save(request.session, flow)
    return HttpResponseRedirect(flow_step_url(step))

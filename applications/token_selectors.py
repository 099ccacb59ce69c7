"""How many OAuth tokens a revocation would take away, for the confirmation pages that name it beforehand."""

from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model


def token_filter(*, user, application, org) -> Q:
    """Every token model carries `user` and `application`, so one Q fits all four: the revocation
    (applications/tokens.py) and the counts a confirmation page shows narrow the same way."""
    conditions = Q()
    if user is not None:
        conditions &= Q(user=user)
    if application is not None:
        conditions &= Q(application=application)
    if org is not None:
        conditions &= Q(application__org=org)
    return conditions


def live_token_count(*, org=None, application=None, user=None) -> int:
    """Live tokens matching all the given filters: unexpired access tokens plus refresh tokens not yet revoked.

    The same reading as application_delete_impact, narrowed like applications.tokens.tokens_revoke (an org's
    applications, one application, one user), so the page's figure is what the revocation will take. Two counts.
    """
    if org is None and application is None and user is None:
        raise ValueError("live_token_count needs an org, an application or a user.")
    conditions = token_filter(user=user, application=application, org=org)
    live_access = get_access_token_model().objects.filter(conditions, expires__gt=timezone.now()).count()
    live_refresh = get_refresh_token_model().objects.filter(conditions, revoked__isnull=True).count()
    return live_access + live_refresh

"""Writes to the back-channel logout outbox: enqueue (in the caller's transaction) and requeue."""

from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from applications.models import Application, AuthorizationRecord
from audit.services import audit_record
from config.exceptions import NotAllowed
from config.outbox import DEAD, FAILED, PENDING, SENDING, WAITING, outbox_requeue
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.tasks import backchannel_logout_dispatch
from identity.models import UserSession

REQUEUEABLE = (DEAD, FAILED)


def backchannel_logout_enqueue(*, sessions: QuerySet[UserSession], reason: str, org=None) -> int:
    """Write a pending delivery for each app used in `sessions` that registered a back-channel logout URI
    (only `org`'s apps, if given), and hand them to a worker once the caller's transaction commits.

    "Used in a session" means the app got an authorization code in it (an AuthorizationRecord with the
    session's sid). Call it inside the transaction of the change, before the sessions are marked ended:
    the rows commit or roll back with it. A session already waiting to be told about is not told twice.
    Returns how many deliveries were written.
    """
    records = AuthorizationRecord.objects.filter(sid__in=sessions.values("sid")).exclude(
        application__backchannel_logout_uri="").exclude(application__kind=Application.Kind.MACHINE)
    if org is not None:
        records = records.filter(application__org=org)
    targets = set(records.values_list("application_id", "application__org_id", "sid", "user_id",
                                      "user__public_id"))
    if not targets:
        return 0
    now = timezone.now()
    rows = [BackchannelLogout(application_id=app_id, org_id=org_id, sid=sid, user_id=user_id,
                              subject=str(public_id), reason=reason[:32], status=PENDING, next_attempt_at=now,
                              dispatched_at=now, created_at=now)
            for app_id, org_id, sid, user_id, public_id in sorted(targets, key=lambda t: (t[2], t[0]))]
    # ignore_conflicts: a row already waiting for the same (app, session) stands for this one too.
    BackchannelLogout.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    # The ids are not returned when conflicts are ignored: these are the rows this call wrote.
    ids = list(BackchannelLogout.objects.filter(
        created_at=now, dispatched_at=now, status=PENDING, sid__in={t[2] for t in targets},
    ).values_list("pk", flat=True))
    transaction.on_commit(partial(backchannel_logout_dispatch, ids))
    return len(ids)


@transaction.atomic
def backchannel_logout_requeue(*, delivery: BackchannelLogout, actor, request=None) -> BackchannelLogout:
    """A dead (or failed) delivery goes back to pending, due now, with a fresh set of attempts.

    Refused while another delivery for the same app and session is waiting (it will tell the app).
    The attempts and error it had are kept in the audit event.
    """
    delivery = BackchannelLogout.objects.select_for_update().select_related("application").get(pk=delivery.pk)
    if delivery.status not in REQUEUEABLE:
        raise NotAllowed(f"This delivery is {delivery.get_status_display().lower()}; only dead or failed "
                         "deliveries can be requeued.")
    waiting = BackchannelLogout.objects.filter(application_id=delivery.application_id, sid=delivery.sid,
                                               status__in=[*WAITING, SENDING]).exclude(pk=delivery.pk)
    if waiting.exists():
        raise NotAllowed("Another logout for this session is already on its way to this application.")
    before = {"status": delivery.status, "attempts": delivery.attempts, "last_error": delivery.last_error[:500]}
    fields = outbox_requeue(delivery)
    try:
        with transaction.atomic():
            delivery.save(update_fields=fields)
    except IntegrityError:
        # Another one was written between the check and the save.
        raise NotAllowed("Another logout for this session is already on its way to this application.") from None
    audit_record(action="backchannel_logout.requeued", actor=actor, org=delivery.org,
                 target=delivery.application, request=request,
                 metadata={"before": before, "after": {"status": delivery.status},
                           "client_id": delivery.application.client_id, "delivery_id": delivery.pk})
    transaction.on_commit(partial(backchannel_logout_dispatch, [delivery.pk]))
    return delivery

"""Scheduled sends: a ``ScheduledSend`` row, and a task of Django's Tasks framework that sends
it when its time comes (the framework, backend and queue the signals' task mode uses:
``TASK_BACKEND``, ``TASK_QUEUE``), run by the backend's worker, e.g. ``db_worker``.

A cancelled send is never sent: the task claims the row under a row lock, and only a row still
``scheduled``; a cancel changes only such a row. Once claimed (``sending``) it can no longer be
cancelled. A task that runs twice finds the row claimed and sends nothing. Whatever goes wrong
after the claim, the row ends ``failed`` with the error (and the MsgKey, if Tencent sent it);
only a worker killed during the call leaves it ``sending`` (docs/sending.md says what to do).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import get_settings
from ..models import OfficialAccountMessage, ScheduledSend
from ..models.sending import TASK_ID_LENGTH
from ..notify.framework import TasksFrameworkMissing, backend
from ..tencent.sending import new_random
from ..webhook.wire import MAX_MSG_KEY_LENGTH
from .body import Outgoing

logger = logging.getLogger(__name__)
Status = ScheduledSend.Status


def schedule_send(
    sdk_app_id: int,
    official_account: str,
    message: Outgoing,
    sent_by: str,
    send_at: datetime,
    random: int | None = None,
) -> ScheduledSend:
    """Store a checked message as a ``ScheduledSend`` and enqueue its task to run at
    ``send_at``, to send it with ``random`` (chosen here if None); raises ``send.SendError`` if
    the task backend cannot."""
    from .send import SendError

    if timezone.is_naive(send_at):
        raise SendError(_("send_at needs a time zone (an aware datetime)."))
    conf = get_settings()
    try:
        if not backend(conf.task_backend).supports_defer:
            raise SendError(
                _(
                    "The task backend %(backend)s cannot run a task later (supports_defer); "
                    "scheduling needs one that can, e.g. django-tasks-db's."
                )
                % {"backend": repr(conf.task_backend)}
            )
        from .task import send_scheduled
    except (TasksFrameworkMissing, ImportError) as exc:
        raise SendError(
            _("Scheduling needs Django's Tasks framework: %(error)s") % {"error": exc}
        ) from None
    using = router.db_for_write(ScheduledSend)
    with transaction.atomic(using=using):
        row = ScheduledSend.objects.using(using).create(
            sdk_app_id=sdk_app_id,
            official_account=official_account,
            msg_body=message.msg_body,
            cloud_custom_data=message.cloud_custom_data,
            online_only=message.online_only,
            offline_push_info=message.offline_push_info,
            random=new_random() if random is None else random,
            send_at=send_at,
            requested_by=sent_by,
        )
        # Inside the transaction: with a database backend the task and the row commit
        # together, or neither does.
        task = send_scheduled.using(
            backend=conf.task_backend, queue_name=conf.task_queue, run_after=send_at
        )
        result = task.enqueue(row.pk, using)
        row.task_id = str(result.id)[:TASK_ID_LENGTH]
        row.save(using=using, update_fields=["task_id"])
    return row


def cancel_scheduled(row: ScheduledSend, cancelled_by: str) -> bool:
    """Cancel ``row`` if it is still waiting; False if its task has claimed it already (or it
    was cancelled before)."""
    using = row._state.db or router.db_for_write(ScheduledSend)
    now = timezone.now()
    cancelled = (
        ScheduledSend.objects.using(using)
        .filter(pk=row.pk, status=Status.SCHEDULED)
        .update(status=Status.CANCELLED, cancelled_at=now, cancelled_by=cancelled_by)
    )
    if cancelled:
        row.status, row.cancelled_at, row.cancelled_by = Status.CANCELLED, now, cancelled_by
    return bool(cancelled)


def run_scheduled(pk: int, using: str) -> OfficialAccountMessage | None:
    """Send the scheduled message ``pk`` if it is still scheduled: the task's body."""
    from .send import deliver

    with transaction.atomic(using=using):
        row = ScheduledSend.objects.using(using).select_for_update().filter(pk=pk).first()
        if row is None or row.status != Status.SCHEDULED:
            logger.info("Scheduled send %s is %s: not sent", pk, row.status if row else "gone")
            return None
        row.status = Status.SENDING
        row.save(using=using, update_fields=["status"])
    # The lock is released before the call: a cancel now finds the row claimed and says so.
    outgoing = Outgoing(row.msg_body, row.cloud_custom_data, row.online_only, row.offline_push_info)
    try:
        message = deliver(
            row.sdk_app_id, row.official_account, outgoing, row.requested_by, row.random
        )
        row.status, row.finished_at = Status.SENT, timezone.now()
        row.message, row.msg_key = message, message.msg_key
        row.save(using=using, update_fields=["status", "finished_at", "message", "msg_key"])
    except Exception as exc:
        # Anything at all (Tencent's refusal, a database error after Tencent sent, a bug): the
        # row must not stay "sending", which nothing could cancel or finish. Not raised again:
        # the row records the error (and any MsgKey), and a rerun would not send a claimed row.
        _failed(row, using, exc)
        return None
    return message


def _failed(row: ScheduledSend, using: str, exc: Exception) -> None:
    """Mark the claimed ``row`` failed with ``exc``, keeping the MsgKey if Tencent sent it."""
    from .send import SendError, SendFailed, SentNotStored

    if isinstance(exc, SendError | SendFailed):
        logger.warning("Scheduled send %s failed: %s", row.pk, exc)
    else:
        logger.error("Scheduled send %s failed", row.pk, exc_info=exc)
    row.status, row.finished_at = Status.FAILED, timezone.now()
    row.error = str(exc) or type(exc).__name__
    if isinstance(exc, SentNotStored):
        row.msg_key = exc.msg_key[:MAX_MSG_KEY_LENGTH]
    # The failed write's row state is not trusted: only these columns are written.
    ScheduledSend.objects.using(using).filter(pk=row.pk, status=Status.SENDING).update(
        status=row.status, finished_at=row.finished_at, error=row.error, msg_key=row.msg_key
    )

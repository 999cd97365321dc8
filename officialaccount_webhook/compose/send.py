"""Sending a broadcast from Django: the one way in for Python, the admin, the command and the API.

:func:`send_message` checks the message (``body``), calls ``send_official_account_msg`` once
(its retries carry the same ``Random``, see ``tencent.sending``) and stores the message at
once under the MsgKey Tencent returned, through the storage seam (``webhook.store``) that
stores callbacks. Tencent's after-send callback for the same message then finds the row:
whichever of the two arrives first stores it, the other finds it, and ``message_received`` is
sent once, for the one that stored it. A send Tencent refuses stores nothing. With
``send_at`` it is scheduled instead (``compose.schedule``).

If storing fails after Tencent sent (the database gone, say), :class:`SentNotStored` carries
the MsgKey and MsgTime to the caller, and the log says them: the message went out, and
Tencent's after-send callback will store it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, overload

from django.core.exceptions import ImproperlyConfigured
from django.db import router
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import OfficialAccountMessage
from ..tencent import TencentChatError, client_for
from ..tencent.sending import RANDOM_LIMIT, SendReply, new_random
from ..webhook.events import SentMessage
from ..webhook.inbound import InboundRequest
from ..webhook.ingest import new_message, schedule_new_message
from ..webhook.query import CallbackQuery
from ..webhook.store import store_message
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .body import Outgoing, outgoing
from .elements import Element, ElementError

if TYPE_CHECKING:
    from ..models import ScheduledSend
    from ..tencent.budget import TimeBudget

logger = logging.getLogger(__name__)

# How Tencent's after-send callback names a message sent by REST (OptPlatform).
REST_PLATFORM = "RESTAPI"
SENT_BY_LENGTH = 150


class SendError(ValueError):
    """The send was refused before any call to Tencent; the message says why, in the active
    language (a setting's error, from ``conf``, stays English)."""


class SendFailed(Exception):
    """Tencent refused the send, or did not answer: nothing was stored.

    ``error`` is the client's exception, with Tencent's ``error_code`` and ``error_info``;
    ``maybe_sent`` is set when Tencent may have carried the send out all the same (a timeout
    after the request left): its after-send callback then stores the message.
    """

    def __init__(self, error: TencentChatError) -> None:
        self.error = error
        self.error_code = error.error_code
        self.error_info = error.error_info
        self.maybe_sent = error.maybe_carried_out
        # Raised in a request or a command: said in its language (the error stays Tencent's).
        if self.maybe_sent:
            text = _(
                "Tencent did not send the message: %(error)s; Tencent may have sent it all the "
                "same: its after-send callback will store it if so"
            )
        else:
            text = _("Tencent did not send the message: %(error)s")
        super().__init__(text % {"error": error})


class SentNotStored(Exception):
    """Tencent sent the message, but it could not be stored here (``__cause__`` says why).

    ``msg_key`` and ``msg_time`` (Tencent's, in seconds, or None) name the message that went
    out: do not send it again. Tencent's after-send callback stores it when it arrives.
    """

    def __init__(self, msg_key: str, msg_time: int | None, reason: BaseException) -> None:
        self.msg_key, self.msg_time = msg_key, msg_time
        text = _(
            "Tencent sent the message (MsgKey %(msg_key)s, MsgTime %(msg_time)s) but it could "
            "not be stored here (%(error)s); Tencent's after-send callback will store it. Do not "
            "send it again."
        )
        error = f"{type(reason).__name__}: {reason}"
        super().__init__(text % {"msg_key": msg_key, "msg_time": msg_time, "error": error})


Elements = Iterable[Element | Mapping[str, Any] | str]


class MessageOptions(TypedDict, total=False):
    """A message's options, as :func:`.body.outgoing` takes them."""

    cloud_custom_data: str
    online_only: bool
    offline_push_info: Mapping[str, Any] | None


class SendOptions(MessageOptions, total=False):
    """The keywords of :func:`send_message` besides ``send_at``, for its two typings: a send
    now returns the stored message, a send with ``send_at`` the scheduled send."""

    sent_by: str
    budget: TimeBudget | None
    random: int | None


@overload
def send_message(
    sdk_app_id: int,
    official_account: str,
    elements: Elements,
    *,
    send_at: None = ...,
    **options: Unpack[SendOptions],
) -> OfficialAccountMessage: ...


@overload
def send_message(
    sdk_app_id: int,
    official_account: str,
    elements: Elements,
    *,
    send_at: datetime,
    **options: Unpack[SendOptions],
) -> ScheduledSend: ...


def send_message(
    sdk_app_id: int,
    official_account: str,
    elements: Elements,
    *,
    cloud_custom_data: str = "",
    online_only: bool = False,
    offline_push_info: Mapping[str, Any] | None = None,
    sent_by: str = "",
    send_at: datetime | None = None,
    budget: TimeBudget | None = None,
    random: int | None = None,
) -> OfficialAccountMessage | ScheduledSend:
    """Broadcast ``elements`` (builders, elements as JSON, or strings for texts) from
    ``official_account`` of app ``sdk_app_id``, and return the stored message.

    ``sent_by`` says who asked ("admin:alice", "api:deploy", "command"). With ``send_at`` the
    send is scheduled for then, and the :class:`~officialaccount_webhook.models.ScheduledSend`
    returned. ``random`` is the send's ``Random``, chosen here if None: give the same one to
    send again what may have been sent (a form confirmed twice), and Tencent drops the second
    within five minutes. Raises :class:`SendError` before any call (a message Tencent would
    refuse, an app that cannot call Tencent), :class:`SendFailed` when Tencent refuses or does
    not answer, :class:`SentNotStored` when it sent but storing failed.
    """
    message = prepare(
        sdk_app_id,
        official_account,
        elements,
        cloud_custom_data=cloud_custom_data,
        online_only=online_only,
        offline_push_info=offline_push_info,
        sent_by=sent_by,
    )
    if random is None:
        random = new_random()
    elif not 0 <= random < RANDOM_LIMIT:
        raise SendError(_("Random must be between 0 and %(max)d.") % {"max": RANDOM_LIMIT - 1})
    if send_at is not None:
        from .schedule import schedule_send  # the Tasks framework, only when scheduling

        return schedule_send(sdk_app_id, official_account, message, sent_by, send_at, random)
    return deliver(sdk_app_id, official_account, message, sent_by, random, budget=budget)


def prepare(
    sdk_app_id: int,
    official_account: str,
    elements: Elements,
    *,
    sent_by: str = "",
    **options: Unpack[MessageOptions],
) -> Outgoing:
    """The message checked, and the app able to call Tencent; else a :class:`SendError`."""
    if not isinstance(official_account, str) or not 0 < len(official_account) <= MAX_ACCOUNT_LENGTH:
        raise SendError(
            _("The official account must be 1 to %(max)d characters.") % {"max": MAX_ACCOUNT_LENGTH}
        )
    if len(sent_by) > SENT_BY_LENGTH:
        raise SendError(_("sent_by is at most %(max)d characters.") % {"max": SENT_BY_LENGTH})
    try:
        message = outgoing(elements, **options)
    except ElementError as exc:
        raise SendError(str(exc)) from None
    try:
        client_for(sdk_app_id)
    except ImproperlyConfigured as exc:
        raise SendError(str(exc)) from None
    return message


def deliver(
    sdk_app_id: int,
    official_account: str,
    message: Outgoing,
    sent_by: str,
    random: int,
    *,
    budget: TimeBudget | None = None,
) -> OfficialAccountMessage:
    """Call Tencent with ``random`` and store what it sent: the send of a checked message."""
    try:
        reply = client_for(sdk_app_id).send_official_account_msg(
            official_account,
            message.msg_body,
            random=random,
            cloud_custom_data=message.cloud_custom_data,
            online_only=message.online_only,
            offline_push_info=message.offline_push_info,
            budget=budget,
        )
    except TencentChatError as exc:
        raise SendFailed(exc) from exc
    except ImproperlyConfigured as exc:
        raise SendError(str(exc)) from None
    if reply.uncertain:
        # Tencent's answer to a retry with the same Random is taken to name the first send's
        # MsgKey, dropped as a duplicate or not [inferred]: said, so that it can be checked.
        logger.warning(
            "Broadcast from %s sent by a retry that followed an uncertain attempt: MsgKey %s, "
            "Random %s is taken to be the one message Tencent sent",
            official_account,
            reply.msg_key,
            reply.random,
        )
    try:
        stored = store_sent(sdk_app_id, official_account, message, reply, sent_by)
    except Exception as exc:
        # Whatever failed (the database, or a bug), the message went out: the caller must learn
        # its MsgKey rather than send it again.
        logger.exception(
            "Broadcast from %s sent (MsgKey %s, MsgTime %s) but not stored; its after-send "
            "callback will store it",
            official_account,
            reply.msg_key,
            reply.msg_time,
        )
        raise SentNotStored(reply.msg_key, reply.msg_time, exc) from exc
    # Not a column: the returned row says it for this call only (``sent_uncertain``).
    stored.sent_uncertain = reply.uncertain  # type: ignore[attr-defined]
    return stored


def store_sent(
    sdk_app_id: int, official_account: str, message: Outgoing, reply: SendReply, sent_by: str
) -> OfficialAccountMessage:
    """Store the message Tencent sent, once: a new row (and ``message_received`` after
    commit), or the row its callback stored first, marked as sent from here."""
    now = timezone.now()
    msg_time = now if reply.msg_time is None else datetime.fromtimestamp(reply.msg_time, tz=UTC)
    event = SentMessage(
        command="",
        official_account=official_account,
        msg_key=reply.msg_key,
        msg_time=msg_time,
        online_only=message.online_only,
        msg_body=message.msg_body,
        cloud_custom_data=message.cloud_custom_data,
        # No callback, no EventTime: the moment Tencent's answer says it was sent.
        event_time=msg_time,
        extra={},
        payload={},
    )
    request = InboundRequest(query=CallbackQuery.from_query_string(""), remote_addr=None)
    row = new_message(sdk_app_id, event, request)
    row.opt_platform, row.sent_by, row.sent_at = REST_PLATFORM, sent_by, now
    using = router.db_for_write(OfficialAccountMessage)
    result = store_message(using, row, None)
    if result.is_new:
        schedule_new_message(using, result)
        return result.message
    # The callback came first and stored it: say who sent it, unless something already did.
    stored = OfficialAccountMessage.objects.using(using)
    stored.filter(pk=result.message.pk, sent_at__isnull=True).update(sent_by=sent_by, sent_at=now)
    return stored.get(pk=result.message.pk)

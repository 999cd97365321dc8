"""Signals other apps connect to for their own sync logic.

Every signal is sent after the database transaction that recorded its event has committed, so
a receiver always finds the rows it is told about. Receivers are called with
``Signal.send_robust``: an exception in a receiver is logged with its traceback and never
changes the answer sent to Tencent nor rolls anything back. Always accept ``**kwargs`` in a
receiver, so that arguments added later do not break it.
"""

from django.dispatch import Signal

# Each is sent with a fixed sender, a model class, and asked "is anyone listening?" on every
# callback: caching the receivers per sender, as Django's model signals do, makes that a
# dictionary lookup. Connecting or disconnecting a receiver clears the cache.
message_received = Signal(use_caching=True)
"""Sent once for each newly stored official-account message.

A duplicate delivery of the same message does not send it again. If a receiver raises, the
message stays stored, and the traceback is recorded on ``message.receiver_error`` (with
``message.receiver_failed_at``) so that the message can be sent again later.

Arguments:
    sender: the ``OfficialAccountMessage`` class.
    message: the stored ``OfficialAccountMessage`` instance.
    backfilled: ``True`` when the message was stored by ``officialaccount_backfill`` from
        Tencent's history API rather than from a callback (it then has no ``event_time`` of
        its own, no ``client_ip`` and no ``opt_platform``).
"""

message_recalled = Signal(use_caching=True)
"""Sent once when a stored message becomes recalled.

Sent when this app's recall (``officialaccount_webhook.recall``) succeeds, and for
``OfficialAccount.CallbackAfterMsgWithDraw``, whoever did the recall. Whichever of the two marks
the message first sends it; a message that was already recalled does not send it again.

Arguments:
    sender: the ``OfficialAccountMessage`` class.
    message: the ``OfficialAccountMessage`` instance, with ``recalled_at`` set.
"""

callback_received = Signal(use_caching=True)
"""Sent for every authenticated, well-formed callback, whatever its command.

This is how callbacks other than official-account messages, which share the app's one webhook
URL, are handed on. It is also sent for ``CallbackAfterSendMsg`` (duplicates included) and
``CallbackAfterMsgWithDraw``, after their own signals. The webhook has already answered
Tencent's "before" commands with ``ErrorCode`` 0 (allow); a receiver cannot change that.

Arguments:
    sender: the ``CallbackDelivery`` class.
    command: the ``CallbackCommand``, e.g. ``"Group.CallbackAfterSendMsg"``.
    payload: the parsed JSON body, a ``dict``, exactly as received.
    sdk_app_id: the ``SdkAppid`` of the configured app the callback is for, an ``int``.
    delivery: the ``CallbackDelivery`` record of this request.
"""

account_changed = Signal(use_caching=True)
"""Sent when the accounts mirror records a change of one official account.

Sent for the account callbacks (``CallbackAfterCreateOfficialAccount``,
``...AfterOfficialAccountInfoChanged``, ``...AfterOfficialAccountDestroyed``,
``...AfterOfficialAccountFull``), for what ``officialaccount_sync`` finds changed, and for the
admin's actions. A callback that changes nothing (a repeat, or one older than the mirror's
state) does not send it.

Arguments:
    sender: the ``OfficialAccount`` class.
    account: the ``OfficialAccount`` instance, as stored after the change.
    change: ``"created"``, ``"changed"``, ``"destroyed"`` or ``"full"``.
    event_time: Tencent's ``EventTime`` of the change, an aware ``datetime``; ``None`` when
        the change was found by a sync or made by this app, not told by a callback.
"""

subscribers_changed = Signal(use_caching=True)
"""Sent when the accounts mirror records subscribers added to or removed from one account.

Sent for ``CallbackAfterAddSubscriber`` and ``CallbackAfterDeleteSubscriber``, for what
``officialaccount_sync`` finds (in batches of at most 1,000 accounts), and for the admin's
actions. Only subscribers whose state changed are listed: a repeated or older callback lists
none, and then the signal is not sent.

Arguments:
    sender: the ``OfficialAccount`` class.
    account: the ``OfficialAccount`` instance.
    added: the subscriber accounts (user IDs) that became subscribers, a ``list`` of ``str``.
    removed: those that stopped being subscribers, a ``list`` of ``str``.
"""

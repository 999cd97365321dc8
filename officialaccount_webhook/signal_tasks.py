"""The signals' tasks, at the path they had before the notify room: the one task is now
``officialaccount_webhook.notify.task.deliver_signal`` (docs/upgrading.md).

Kept so that ``ReceiverFailed`` keeps its old import path, and so that tasks enqueued before
the upgrade, under their old names, still run once a worker of the new version picks them up.
Imported only in task mode, like the module it forwards to.
"""

from __future__ import annotations

from .notify.task import ReceiverFailed, deliver_signal, task

__all__ = ["ReceiverFailed", "deliver_signal"]


@task
def send_message_received(using: str, message_id: int) -> None:
    deliver_signal.call("message_received", using, message_id)


@task
def send_message_recalled(using: str, message_id: int) -> None:
    deliver_signal.call("message_recalled", using, message_id)


@task
def send_callback_received(using: str, delivery_id: int, sdk_app_id: int) -> None:
    deliver_signal.call("callback_received", using, delivery_id)

from typing import Any

from django.apps import AppConfig


class ReceiverConfig(AppConfig):
    """Connects a receiver that does nothing, as quick as a receiver can be."""

    name = "bench.receiver_app"

    def ready(self) -> None:
        from officialaccount_webhook.signals import message_received

        message_received.connect(receiver, dispatch_uid="bench.receiver_app")


def receiver(**kwargs: Any) -> None:
    pass

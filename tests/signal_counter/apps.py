"""Counts message_received in processes the tests start (gunicorn workers), in a file; and
message_recalled in another, when SIGNAL_RECALL_FILE names one."""

import os

from django.apps import AppConfig


class SignalCounterConfig(AppConfig):
    name = "tests.signal_counter"

    def ready(self) -> None:
        from officialaccount_webhook.signals import message_received

        message_received.connect(record, dispatch_uid="tests.signal_counter")
        if os.environ.get("SIGNAL_RECALL_FILE"):
            from officialaccount_webhook.signals import message_recalled

            message_recalled.connect(record_recall, dispatch_uid="tests.signal_counter.recall")


def record(message, file="SIGNAL_COUNT_FILE", **kwargs):  # type: ignore[no-untyped-def]  # a test helper
    # One short write with O_APPEND: lines from several processes never interleave.
    descriptor = os.open(os.environ[file], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, f"{message.official_account} {message.msg_key}\n".encode())
    finally:
        os.close(descriptor)


def record_recall(message, **kwargs):  # type: ignore[no-untyped-def]  # a test helper
    record(message, file="SIGNAL_RECALL_FILE")

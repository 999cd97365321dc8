"""A slow message_received receiver for the task worker's test (tests/test_task_worker.py).

Connected only in processes started with tests.taskmode_settings. It sleeps RECEIVER_SLEEP
seconds, then raises if the file RECEIVER_FAIL names exists, else appends a line to the file
RECEIVER_MARKER names: "<pid> <MsgKey>".
"""

import os
import time
from pathlib import Path

from django.apps import AppConfig


class SlowReceiverConfig(AppConfig):
    name = "tests.slow_receiver"

    def ready(self) -> None:
        from officialaccount_webhook.signals import message_received

        message_received.connect(slow_receiver, dispatch_uid="tests.slow_receiver")


def slow_receiver(message, **kwargs):  # type: ignore[no-untyped-def]  # a test helper
    time.sleep(float(os.environ.get("RECEIVER_SLEEP", "0")))
    if Path(os.environ["RECEIVER_FAIL"]).exists():
        raise RuntimeError(f"the receiver is broken for {message.msg_key}")
    with Path(os.environ["RECEIVER_MARKER"]).open("a") as marker:
        marker.write(f"{os.getpid()} {message.msg_key}\n")

"""The test settings in SIGNAL_MODE "task", with the database task backend and a slow receiver:
for the worker process that tests/test_task_worker.py starts (and the commands it runs)."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.slow_receiver"]  # noqa: F405
# One queue of the app's own, as a project that runs other tasks too might configure it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["officialaccount"]}}
OFFICIALACCOUNT_WEBHOOK = {
    **OFFICIALACCOUNT_WEBHOOK,  # noqa: F405
    "SIGNAL_MODE": "task",
    "TASK_QUEUE": "officialaccount",
}

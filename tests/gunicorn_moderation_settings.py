"""The example project with two misbehaving moderation hooks: for
tests/test_moderation_gunicorn.py."""

from project.settings import *  # noqa: F403

OFFICIALACCOUNT_WEBHOOK = {
    **OFFICIALACCOUNT_WEBHOOK,  # noqa: F405
    "MODERATION_HOOKS": {
        "OfficialAccount.CallbackBeforeSendMsg": ["tests.moderation_hooks.sleeps"],
        "OfficialAccount.CallbackBeforeAddSubscriber": ["tests.moderation_hooks.raises"],
    },
}

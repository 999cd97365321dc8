from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete
from django.utils.translation import gettext_lazy as _


class OfficialAccountWebhookConfig(AppConfig):
    name = "officialaccount_webhook"
    verbose_name = _("Tencent Chat official accounts")
    default_auto_field = "django.db.models.BigAutoField"
    # A WSGI server runs no system checks: the log is where an unsigned app must show.
    # Said once per process, however often ready() is called.
    unsigned_apps_logged = False

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .api import checks as api_checks  # noqa: F401  (and the REST API's)
        from .checks_webhook import log_unsigned_apps
        from .conf import get_settings
        from .log import install_fields
        from .models import OfficialAccountMessage
        from .models.volume import message_deleted

        install_fields()  # the callback's fields on every log record of the app
        # A message deleted through the ORM (the admin's delete) comes off the chart's rollup.
        post_delete.connect(
            message_deleted,
            sender=OfficialAccountMessage,
            dispatch_uid="officialaccount_volume_forget",
        )

        if OfficialAccountWebhookConfig.unsigned_apps_logged:
            return
        OfficialAccountWebhookConfig.unsigned_apps_logged = True
        try:
            conf = get_settings()
        except ImproperlyConfigured:
            return  # check E001 says what is wrong; start-up must not fail here
        log_unsigned_apps(conf)

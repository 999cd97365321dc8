from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OfficialAccountWebhookConfig(AppConfig):
    name = "officialaccount_webhook"
    verbose_name = _("Tencent Chat official accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

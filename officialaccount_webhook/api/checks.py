"""The REST API's system checks, registered by the app config: the API's own concerns stay in
its room (nothing outside ``api`` imports it but the URLconf and this registration)."""

from __future__ import annotations

from typing import Any

from django.apps import apps as django_apps
from django.core.checks import CheckMessage, Tags, Warning, register
from django.utils.translation import gettext as _


@register(Tags.security)
def check_api_basic_authentication(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The REST API takes the project's DRF authentication; DRF's default includes Basic."""
    if not django_apps.is_installed("rest_framework"):
        return []
    from rest_framework.authentication import BasicAuthentication
    from rest_framework.settings import api_settings

    from .authentication import ThrottledBasicAuthentication

    # api_settings imports the dotted paths: classes, whatever the stubs say.
    classes: list[type] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)  # type: ignore[arg-type]
    plain = [
        cls
        for cls in classes
        if issubclass(cls, BasicAuthentication)
        and not issubclass(cls, ThrottledBasicAuthentication)
    ]
    if not plain:
        return []
    return [
        Warning(
            _(
                "The REST API accepts HTTP Basic authentication without a limit on failed "
                "attempts: each wrong password costs a worker a password hash, so a few clients "
                "guessing passwords can leave no worker for Tencent's callbacks."
            ),
            hint=_(
                "Use session and token authentication in REST_FRAMEWORK's "
                "DEFAULT_AUTHENTICATION_CLASSES, or replace BasicAuthentication with "
                "officialaccount_webhook.api.authentication.ThrottledBasicAuthentication "
                "(docs/recall.md)."
            ),
            id="officialaccount_webhook.W014",
        )
    ]

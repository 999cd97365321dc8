"""The webhook's URL. Include it in a project's URLconf::

path("webhooks/tencent-chat/", include("officialaccount_webhook.urls"))
"""

from django.urls import path

from .views import CallbackView

app_name = "officialaccount_webhook"

urlpatterns = [
    path("", CallbackView.as_view(), name="callback"),
]

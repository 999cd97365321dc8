"""The webhook's URL, and its health endpoint beside it (``health/``). Include it in a
project's URLconf, and route the same URL without its trailing slash to the view too
(docs/quickstart.md says why)::

path("webhooks/tencent-chat/", include("officialaccount_webhook.urls")),
path("webhooks/tencent-chat", CallbackView.as_view()),
"""

from django.urls import path

from .ops.health import health
from .webhook.views import CallbackView

app_name = "officialaccount_webhook"

urlpatterns = [
    path("", CallbackView.as_view(), name="callback"),
    path("health/", health, name="health"),
]

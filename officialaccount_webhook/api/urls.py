"""The REST API. Include it in a project's URLconf, e.g.
``path("api/officialaccount/", include("officialaccount_webhook.api.urls"))``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .accounts import AccountSubscriberViewSet, AccountViewSet
from .send import SendView
from .views import MessageViewSet, RecallCheckView, RecallView

app_name = "officialaccount_webhook_api"

router = SimpleRouter()
router.register("messages", MessageViewSet, basename="message")
router.register("accounts", AccountViewSet, basename="account")

urlpatterns = [
    *router.urls,
    path("recall/", RecallView.as_view(), name="recall"),
    path("recall/check/", RecallCheckView.as_view(), name="recall-check"),
    path("send/", SendView.as_view(), name="send"),
    path(
        "accounts/<str:account_pk>/subscribers/",
        AccountSubscriberViewSet.as_view({"get": "list"}),
        name="account-subscribers",
    ),
]

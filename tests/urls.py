from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/tencent-chat/", include("officialaccount_webhook.urls")),
    path("api/officialaccount/", include("officialaccount_webhook.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]

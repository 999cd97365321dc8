from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from officialaccount_webhook.api.permissions import CanViewMessages
from officialaccount_webhook.ops import metrics
from officialaccount_webhook.views import CallbackView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/tencent-chat/", include("officialaccount_webhook.urls")),
    # The same view for the URL without its trailing slash, as it may be typed into Tencent's
    # console: Django would answer it with APPEND_SLASH's redirect (an error page with DEBUG
    # on), which Tencent does not follow, and every callback would be lost unrecorded.
    path("webhooks/tencent-chat", CallbackView.as_view()),
    path("api/officialaccount/", include("officialaccount_webhook.api.urls")),
    # The schema describes the API to those who may read it: the same permission as reading.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[CanViewMessages]),
        name="schema",
    ),
    # A page to read and try the API (Swagger UI), from drf-spectacular-sidecar's static files,
    # so that nothing is fetched from elsewhere; behind the schema's permission. The admin links
    # to the URL named "api-docs" when the project has one.
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[CanViewMessages]),
        name="api-docs",
    ),
]

# Prometheus metrics, when the metrics extra (prometheus-client) is installed. Public here, like
# the health endpoint's status: nothing in them is secret, but keep them on an internal network
# (docs/operations.md).
if metrics.available():
    urlpatterns.append(path("metrics", metrics.metrics_view, name="metrics"))

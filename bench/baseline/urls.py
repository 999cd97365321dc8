from django.urls import path

from .views import ingest

urlpatterns = [path("webhooks/tencent-chat/", ingest)]

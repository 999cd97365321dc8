from django.db import models


class BaselineMessage(models.Model):
    """The table a naive integration would write: the same fields, no checks."""

    sdk_app_id = models.BigIntegerField()
    official_account = models.CharField(max_length=128)
    msg_key = models.CharField(max_length=128)
    msg_time = models.BigIntegerField()
    online_only = models.BooleanField(default=False)
    msg_body = models.JSONField()
    cloud_custom_data = models.TextField(blank=True, default="")
    event_time = models.BigIntegerField()

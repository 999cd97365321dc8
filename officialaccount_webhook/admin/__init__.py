"""The app's admin: one module per model admin, and what they share (``base``, ``filters``,
``drilldown``, ``chart``, ``pagination``, ``rendering``, the ``recall`` action).

Importing this package registers the model admins, which is what Django's admin autodiscovery
does.
"""

from .deliveries import CallbackDeliveryAdmin
from .messages import OfficialAccountMessageAdmin

__all__ = ["CallbackDeliveryAdmin", "OfficialAccountMessageAdmin"]

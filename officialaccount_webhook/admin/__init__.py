"""The app's admin: one module per model admin, and what they share (``base``, ``filters``,
``drilldown``, ``chart``, ``pagination``, ``rendering``, the ``recall`` action, the per-app
``scope``), and the admin of app grants (``grants``).

Importing this package registers the model admins, which is what Django's admin autodiscovery
does.
"""

from .deliveries import CallbackDeliveryAdmin
from .grants import AppGrantAdmin
from .messages import OfficialAccountMessageAdmin

__all__ = ["AppGrantAdmin", "CallbackDeliveryAdmin", "OfficialAccountMessageAdmin"]

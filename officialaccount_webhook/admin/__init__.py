"""The app's admin: one module per model admin, and what they share (``base``, ``filters``,
``drilldown``, ``chart``, ``pagination``, ``rendering``, the ``recall`` action, the per-app
``scope``), the admin of app grants (``grants``), and the accounts mirror's (``accounts``,
``subscribers``) with the actions on Tencent (``account_actions``), and moderation's
decisions and rules (``moderation``).

Importing this package registers the model admins, which is what Django's admin autodiscovery
does.
"""

from .accounts import OfficialAccountAdmin
from .deliveries import CallbackDeliveryAdmin
from .grants import AppGrantAdmin
from .messages import OfficialAccountMessageAdmin
from .moderation import DenyListEntryAdmin, KeywordRuleAdmin, ModerationDecisionAdmin
from .scheduled import ScheduledSendAdmin
from .subscribers import OfficialAccountSubscriberAdmin

__all__ = [
    "AppGrantAdmin",
    "CallbackDeliveryAdmin",
    "DenyListEntryAdmin",
    "KeywordRuleAdmin",
    "ModerationDecisionAdmin",
    "OfficialAccountAdmin",
    "OfficialAccountMessageAdmin",
    "OfficialAccountSubscriberAdmin",
    "ScheduledSendAdmin",
]

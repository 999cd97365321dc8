"""Official-account messages: one row per broadcast, stored once."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections, models, router
from django.db.models import Value
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..elements import known_element_types, searchable_text
from ..webhook.wire import MAX_OPT_PLATFORM_LENGTH, MAX_RECALL_REASON_BYTES
from .base import MessageKeyed, flag, moment, note, requester

ELEMENT_TYPES_LENGTH = 255


class OfficialAccountMessageQuerySet(models.QuerySet["OfficialAccountMessage"]):
    def get_by_msg_key(
        self, sdk_app_id: int, official_account: str, msg_key: str
    ) -> OfficialAccountMessage:
        """The stored message with this MsgKey, as needed to recall it.

        A MsgKey is unique only within its official account (its sequence number is per
        account), so the account and the app are part of the key. Served by the unique index;
        raises ``OfficialAccountMessage.DoesNotExist`` when no such message was stored.
        """
        return self.get(sdk_app_id=sdk_app_id, official_account=official_account, msg_key=msg_key)

    def search_text(self, text: str) -> OfficialAccountMessageQuerySet:
        """Messages whose text contains ``text``, case-insensitively.

        The text is what a person reads: texts, file names, location and custom descriptions
        (``text_content``). On PostgreSQL a trigram index serves it on large tables.
        """
        return self.filter(text_content__icontains=text)

    def with_element_type(self, msg_type: str) -> OfficialAccountMessageQuerySet:
        """Messages that hold at least one element of this MsgType."""
        return self.filter(element_types__contains=f" {msg_type} ")

    def matching(
        self,
        *,
        sdk_app_id: int | None = None,
        official_account: str | None = None,
        msg_key: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
    ) -> OfficialAccountMessageQuerySet:
        """The messages that match every criterion given; ``None`` (or an empty text) leaves
        one out. ``since`` is inclusive, ``until`` exclusive, both on the message's time. The
        one filter chain of the REST API and ``officialaccount_replay``."""
        exact = {
            "sdk_app_id": sdk_app_id,
            "official_account": official_account,
            "msg_key": msg_key,
            "msg_time__gte": since,
            "msg_time__lt": until,
        }
        queryset = self.filter(
            **{name: value for name, value in exact.items() if value is not None}
        )
        return queryset.search_text(text) if text else queryset

    def record_signal(
        self,
        message: OfficialAccountMessage,
        *,
        receiver_error: str,
        receiver_failed_at: datetime | None,
        signalled_at: datetime,
    ) -> None:
        """Record on ``message`` (and its row) that ``message_received`` was sent.

        With a receiver connected this runs for every new message, and the ORM's ``update()``
        spends more building its SQL than the database spends running it: the statement is
        built once per database, and its same text lets psycopg keep it prepared where the
        database's OPTIONS ask for that (docs/operations.md).
        """
        # The message's own database: a worker may have read it through another alias.
        using = message._state.db or router.db_for_write(OfficialAccountMessage)
        connection = connections[using]
        values = (receiver_error, receiver_failed_at, signalled_at)
        params = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(_signal_fields(), values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(_signal_statement(using), [*params, message.pk])
        message.receiver_error, message.receiver_failed_at = receiver_error, receiver_failed_at
        message.signalled_at = signalled_at


def derived_columns(msg_body: Any) -> dict[str, str]:
    """The columns kept alongside ``msg_body`` so that the admin can filter and search fast."""
    # Only the documented types: those are what the filter offers, and they always fit.
    types = " ".join(known_element_types(msg_body))
    return {
        "text_content": searchable_text(msg_body),
        # Spaces around every type make a "contains" match whole types only.
        "element_types": f" {types} " if types else "",
    }


@cache
def _signal_fields() -> list[models.Field[Any, Any]]:
    fields = {field.name: field for field in OfficialAccountMessage._meta.concrete_fields}
    return [fields[name] for name in ("receiver_error", "receiver_failed_at", "signalled_at")]


@cache
def _signal_statement(using: str) -> str:
    quote = connections[using].ops.quote_name
    columns = ", ".join(f"{quote(str(field.column))} = %s" for field in _signal_fields())
    table = quote(OfficialAccountMessage._meta.db_table)
    primary_key = quote(str(OfficialAccountMessage._meta.pk.column))
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    return f"UPDATE {table} SET {columns} WHERE {primary_key} = %s"  # noqa: S608


class OfficialAccountMessage(MessageKeyed):
    """One official-account broadcast, stored once from ``OfficialAccount.CallbackAfterSendMsg``."""

    msg_time = models.DateTimeField(
        _("message time"), help_text=_("Tencent's server time (MsgTime).")
    )
    online_only = flag(_("online only"))
    msg_body = models.JSONField(_("message body"), help_text=_("MsgBody exactly as received."))
    cloud_custom_data = note(_("cloud custom data"))
    event_time = models.DateTimeField(_("event time"), help_text=_("EventTime, in milliseconds."))
    client_ip = models.GenericIPAddressField(
        _("client IP"), null=True, blank=True, help_text=_("ClientIP from the callback URL.")
    )
    opt_platform = note(
        _("platform"),
        max_length=MAX_OPT_PLATFORM_LENGTH,
        help_text=_("OptPlatform from the callback URL, e.g. RESTAPI, Web, iOS."),
    )
    extra = models.JSONField(
        _("other body fields"),
        default=dict,
        blank=True,
        help_text=_("Keys of the callback body beyond the documented ones, kept as received."),
    )
    repairs = models.JSONField(
        _("repairs"),
        default=list,
        # Also the database's own default, so that a web worker of the previous version, which
        # does not know the column, can still insert while a rolling deploy is under way.
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text=_(
            "What was changed in the callback to store it (a number sent as text, say), one "
            "note each; empty when it was stored as sent."
        ),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    backfilled = flag(_("backfilled"), _("Stored from Tencent's history API, not from a callback."))
    recalled_at = moment(_("recalled at"))
    recall_ret_code = models.IntegerField(
        _("last recall RetCode"),
        null=True,
        blank=True,
        help_text=_("Tencent's answer to the last recall this app asked for: 0 means recalled."),
    )
    recall_unknown_at = moment(
        _("recall outcome unknown since"),
        _(
            "A recall this app asked for got no answer from Tencent in time: the message may or "
            "may not be recalled. Empty once a later recall or check has an answer."
        ),
    )
    recall_reason = note(_("recall reason"), max_length=MAX_RECALL_REASON_BYTES)
    recall_requested_by = requester(
        _("recall requested by"),
        _("Who or what asked for the last recall, e.g. admin:alice or command."),
    )
    receiver_error = note(
        _("receiver error"),
        help_text=_("Traceback of the last message_received receiver that raised, if any."),
    )
    receiver_failed_at = moment(_("receiver failed at"))
    signalled_at = moment(
        _("signalled at"), _("When message_received was last sent; empty if it never was.")
    )
    text_content = note(
        _("text"),
        editable=False,
        help_text=_("The message's readable text, from msg_body, for search."),
    )
    sent_by = requester(
        _("sent by"),
        # Also the database's own default: a web worker of the previous version, which does
        # not know the column, can still insert while a rolling deploy is under way.
        db_default="",
        help_text=_(
            "Who sent it from this app, e.g. admin:alice, api:deploy or command; empty for a "
            "message sent elsewhere."
        ),
    )
    sent_at = moment(_("sent at"), _("When this app sent it (Tencent's answer came)."))
    element_types = note(
        _("element types"),
        max_length=ELEMENT_TYPES_LENGTH,
        editable=False,
        help_text=_("The MsgTypes in msg_body, for filtering."),
    )

    objects = OfficialAccountMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("official-account message")
        verbose_name_plural = _("official-account messages")
        ordering = ("-msg_time", "-id")
        constraints = (
            # Idempotency lives here, in the database, not in a check-then-insert.
            models.UniqueConstraint(
                fields=("sdk_app_id", "official_account", "msg_key"),
                name="officialaccount_message_unique_key",
            ),
        )
        # One behind every admin filter and search. PostgreSQL also gets trigram indexes for the
        # text search and the element-type filter (migration 0003).
        indexes = (
            models.Index(fields=("-msg_time", "-id"), name="officialaccount_msg_time"),
            models.Index(fields=("msg_key",), name="officialaccount_msg_key"),
            # The admin's "=" searches compare UPPER() of the column (iexact).
            models.Index(Upper("msg_key"), name="officialaccount_msg_key_upper"),
            models.Index(Upper("official_account"), name="officialaccount_msg_account_up"),
            models.Index(
                fields=("official_account", "-msg_time"), name="officialaccount_msg_account"
            ),
            models.Index(fields=("sdk_app_id", "-msg_time"), name="officialaccount_msg_app"),
            models.Index(fields=("online_only", "-msg_time"), name="officialaccount_msg_online"),
            # Pruning and replays select by arrival.
            models.Index(fields=("received_at",), name="officialaccount_msg_received"),
            models.Index(
                fields=("-msg_time",),
                condition=models.Q(recalled_at__isnull=False),
                name="officialaccount_msg_recalled",
            ),
        )
        permissions = (
            ("recall_officialaccountmessage", _("Can recall official-account messages")),
            ("send_officialaccountmessage", _("Can send official-account messages")),
        )

    def __str__(self) -> str:
        return f"{self.official_account} {self.msg_key}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived from msg_body, so kept in step on every save (bulk operations and update()
        # bypass this: pass derived_columns() to them).
        derived = derived_columns(self.msg_body)
        for name, value in derived.items():
            setattr(self, name, value)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "msg_body" in update_fields:
            kwargs["update_fields"] = {*update_fields, *derived}
        super().save(*args, **kwargs)

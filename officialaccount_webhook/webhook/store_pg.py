"""The message and its delivery record in one statement, on PostgreSQL.

One implementation of the storage seam (``store``). The portable path costs a transaction, a
savepoint, two inserts and a commit: six round trips, where the webhook's budget is Tencent's
two seconds and its cost is measured against a plain ``create()``. On PostgreSQL one statement
stores a new message and its delivery record, in autocommit:

    WITH new AS (INSERT message ... ON CONFLICT ON CONSTRAINT <unique key> DO NOTHING RETURNING id)
    INSERT delivery (..., message_id, 'accepted') SELECT ... FROM new RETURNING ...

A duplicate inserts nothing there, and a second statement records its delivery against the
stored message. That lookup is a statement of its own, planned each time: in the prepared
statement, a plan made while the table was small can keep scanning an index of the whole table
(sdk_app_id's) for as long as the connection lives.

Idempotency stays with the unique constraint: an insert that meets a conflicting row of a
transaction still in progress waits for it, then inserts (it rolled back) or finds the
conflict (it committed). The lookup can still find no row if the stored message was deleted
between the two statements (a prune): nothing is stored, :class:`StoredRowVanished` is raised,
and the seam takes the portable path, which stores the message again.

Only Django's public database API is used: ``connection.cursor()``, ``execute``, ``fetchone``
and ``connection.ops``. Whether PostgreSQL keeps the statement prepared is the project's choice,
made in the database's ``OPTIONS`` (``server_side_binding`` and ``prepare_threshold``, psycopg 3;
docs/operations.md says when): the statement's text is built once per database, so psycopg can
prepare it like any other statement Django runs.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    CharField,
    Field,
    GenericIPAddressField,
    Model,
    TextField,
)

from ..models import CallbackDelivery, MessageRecall, OfficialAccount, OfficialAccountMessage

UNIQUE_KEY = "officialaccount_message_unique_key"
ACCOUNT_KEY = "officialaccount_account_key"


class StoredRowVanished(Exception):
    """A duplicate's stored message was deleted between the two statements: nothing stored."""


def _columns(model: type[Model], skip: frozenset[str] = frozenset()) -> list[Field[Any, Any]]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in skip
    ]


# A new account's columns that the new message gives, by the message's column.
_ACCOUNT_FROM_MESSAGE = {
    "sdk_app_id": "sdk_app_id",
    "official_account": "official_account",
    "first_seen_at": "received_at",
}


@cache
def _fields() -> tuple[list[Field[Any, Any]], list[Field[Any, Any]], list[Field[Any, Any]]]:
    """The columns written as parameters: every message column; the delivery's but its link
    and outcome; the account's defaults. A new account row takes its key and first_seen_at
    from the message's row, and leaves out the columns that are NULL without a default (the
    table's own default is NULL): psycopg converts a statement's placeholders once and keeps
    the result only for up to 50 parameters, and this one runs for every callback."""
    return (
        _columns(OfficialAccountMessage),
        _columns(CallbackDelivery, frozenset({"message_id", "outcome"})),
        [
            field
            for field in _columns(OfficialAccount, frozenset(_ACCOUNT_FROM_MESSAGE))
            # Without a Python default, a column with a database default is left to it, as
            # the ORM leaves it.
            if field.has_default() or not (field.null or field.has_db_default())
        ],
    )


def _as_is(field: Field[Any, Any]) -> tuple[type, ...]:
    """The types of value ``get_db_prep_save`` sends to ``field``'s column unchanged."""
    if isinstance(field, CharField | TextField | GenericIPAddressField):
        return (str,)
    if isinstance(field, BooleanField):
        return (bool,)
    return ()


def _db_value(
    field: Field[Any, Any],
    value: Any,
    connection: BaseDatabaseWrapper,
    as_is: tuple[type, ...] | None = None,
) -> Any:
    """What the ORM would send for ``value``: ``get_db_prep_save``, skipped where it changes
    nothing (most columns of a new row), since it costs more per call than anything else here.
    ``as_is`` is ``_as_is(field)``, worked out once by the caller that has many values.

    An IP address stays the canonical string ``protocol.parse_ip`` made of it: PostgreSQL reads
    it as the column's inet, where the ORM would parse it into an ``ipaddress`` object first.
    """
    if value is None or type(value) in (_as_is(field) if as_is is None else as_is):
        return value
    return field.get_db_prep_save(value, connection)


if TYPE_CHECKING:  # Field takes no type argument at run time (without django-stubs-ext)
    Plan = list[tuple[Field[Any, Any], str, tuple[type, ...]]]


@cache
def _plans() -> tuple[Plan, Plan]:
    """Each message and delivery column with its attribute and ``_as_is``, worked out once."""
    message_fields, delivery_fields, _account_fields = _fields()
    return (
        [(field, field.attname, _as_is(field)) for field in message_fields],
        [(field, field.attname, _as_is(field)) for field in delivery_fields],
    )


def _account_values(connection: BaseDatabaseWrapper) -> tuple[Any, ...]:
    """A new account's columns but its key and first_seen_at: the model's defaults as the ORM
    sends them."""
    return tuple(_db_value(field, field.get_default(), connection) for field in _fields()[2])


@cache
def _account_defaults(using: str) -> tuple[Any, ...] | None:
    """``_account_values``, the same for every callback, so worked out once per database. None
    where a default is computed each time (a callable): ``store_message`` then asks each time."""
    if any(field.has_default() and callable(field.default) for field in _fields()[2]):
        return None
    return _account_values(connections[using])


def _cast(field: Field[Any, Any], connection: BaseDatabaseWrapper) -> str:
    """The type to cast a SELECT-list parameter to: the column's, less a varchar's length, so
    that a value too long fails as it would in an INSERT instead of being cut short."""
    if isinstance(field, CharField):
        return str(connection.ops.cast_char_field_without_max_length)
    return str(field.cast_db_type(connection))


@cache
def _statements(using: str) -> tuple[str, str]:
    """The two statements' text, built once per database: the same text every time is what
    lets psycopg prepare it, when the database's OPTIONS ask for that (see the module's doc)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    message_fields, delivery_fields, account_fields = _fields()
    messages = quote(OfficialAccountMessage._meta.db_table)
    accounts = quote(OfficialAccount._meta.db_table)
    account_columns = ", ".join(
        [*map(quote, _ACCOUNT_FROM_MESSAGE), *(quote(str(f.column)) for f in account_fields)]
    )
    account_values = ", ".join(
        [
            *(f"new.{quote(column)}" for column in _ACCOUNT_FROM_MESSAGE.values()),
            *(f"%s::{_cast(f, connection)}" for f in account_fields),
        ]
    )
    deliveries = quote(CallbackDelivery._meta.db_table)
    recalls = quote(MessageRecall._meta.db_table)
    message_columns = ", ".join(quote(str(f.column)) for f in message_fields)
    delivery_columns = ", ".join(quote(str(f.column)) for f in delivery_fields)
    # A parameter in a SELECT list has no column to take its type from: say it (a NULL
    # would otherwise be text, which an inet or jsonb column refuses).
    delivery_values = ", ".join(f"%s::{_cast(f, connection)}" for f in delivery_fields)
    # Only quoted identifiers and types from the models go into the text; every value is a
    # parameter.
    new = f"""
        WITH new AS (
            INSERT INTO {messages} ({message_columns})
            VALUES ({", ".join(["%s"] * len(message_fields))})
            ON CONFLICT ON CONSTRAINT {quote(UNIQUE_KEY)} DO NOTHING
            RETURNING id, {", ".join(map(quote, _ACCOUNT_FROM_MESSAGE.values()))}
        ), account AS (
            -- A new message's account joins the mirror if it is not there yet (accounts.
            -- mirror.ensure_account). PostgreSQL runs a data-modifying WITH whether or not the
            -- statement reads it; "FROM new" limits it to a message stored just now.
            INSERT INTO {accounts} ({account_columns})
            SELECT {account_values} FROM new
            ON CONFLICT ON CONSTRAINT {quote(ACCOUNT_KEY)} DO NOTHING
        )
        INSERT INTO {deliveries} ({delivery_columns}, message_id, outcome)
        SELECT {delivery_values}, new.id, 'accepted' FROM new
        RETURNING id, message_id, EXISTS (
            SELECT 1 FROM {recalls}
            WHERE sdk_app_id = %s AND official_account = %s AND msg_key = %s
            AND result = 'not_stored' AND applied_at IS NULL
        )
    """  # noqa: S608
    duplicate = f"""
        INSERT INTO {deliveries} ({delivery_columns}, message_id, outcome)
        SELECT {delivery_values}, id, 'duplicate' FROM {messages}
        WHERE sdk_app_id = %s AND official_account = %s AND msg_key = %s
        RETURNING id, message_id
    """  # noqa: S608
    return new, duplicate


def store_message(
    using: str, message: OfficialAccountMessage, delivery: CallbackDelivery
) -> tuple[bool, bool]:
    """Store ``message`` once and ``delivery`` for it, and make its account known. Answers
    whether the message is new, and (for a new one) whether a withdrawal of it came first and
    waits (``messages.history``), a question the same statement asks, so that the usual case
    stays one round trip. Sets the
    primary keys and ``delivery.outcome``; raises :class:`StoredRowVanished` in the race
    described above."""
    connection = connections[using]
    message_plan, delivery_plan = _plans()
    new, duplicate = _statements(using)
    account_params = _account_defaults(using)
    if account_params is None:
        account_params = _account_values(connection)
    delivery_params = [
        _db_value(field, getattr(delivery, attname), connection, as_is)
        for field, attname, as_is in delivery_plan
    ]
    key: list[Any] = [message.sdk_app_id, message.official_account, message.msg_key]
    with connection.cursor() as cursor:
        cursor.execute(
            new,
            [
                *(
                    _db_value(field, getattr(message, attname), connection, as_is)
                    for field, attname, as_is in message_plan
                ),
                *account_params,
                *delivery_params,
                *key,
            ],
        )
        row = cursor.fetchone()
    created = row is not None
    recall_pending = False
    if row is not None:
        delivery.pk, delivery.message_id, recall_pending = row
    else:
        with connection.cursor() as cursor:
            cursor.execute(duplicate, [*delivery_params, *key])
            row = cursor.fetchone()
        if row is None:
            raise StoredRowVanished(message.msg_key)
        delivery.pk, delivery.message_id = row
    delivery.outcome = (
        CallbackDelivery.Outcome.ACCEPTED if created else CallbackDelivery.Outcome.DUPLICATE
    )
    message.pk = delivery.message_id
    message._state.adding, message._state.db = False, using
    delivery._state.adding, delivery._state.db = False, using
    if created:
        delivery.message = message
    return created, recall_pending

"""The message and its delivery record in one statement, on PostgreSQL.

The portable path (``ingest._insert_once``) costs a transaction, a savepoint, two inserts and
a commit: six round trips, where the webhook's budget is Tencent's two seconds and its cost is
measured against a plain ``create()``. On PostgreSQL one statement does the same in autocommit:

    WITH new AS (INSERT message ... ON CONFLICT ON CONSTRAINT <unique key> DO NOTHING RETURNING id),
         found AS (the new id, or the stored one's), ...
    INSERT delivery (..., message_id, outcome) SELECT ... FROM found RETURNING ...

Idempotency stays with the unique constraint. In the rare race where the conflicting row
belongs to a transaction that committed after this statement's snapshot, the statement finds
no row and stores nothing; the caller then takes the portable path, which sees it.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Field, Model

from .models import CallbackDelivery, OfficialAccountMessage

UNIQUE_KEY = "officialaccount_message_unique_key"


def _columns(model: type[Model], skip: set[str]) -> list[Field[Any, Any]]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.attname not in skip
    ]


def insert_message_and_delivery(
    using: str, message: OfficialAccountMessage, delivery: CallbackDelivery
) -> bool | None:
    """Store ``message`` once and ``delivery`` for it. True: new; False: a duplicate; None: the
    race described above (nothing stored). Sets the primary keys and ``delivery.outcome``."""
    connection = connections[using]
    quote = connection.ops.quote_name
    message_fields = _columns(OfficialAccountMessage, set())
    delivery_fields = _columns(CallbackDelivery, {"message_id", "outcome"})
    message_values = [
        field.get_db_prep_save(getattr(message, field.attname), connection)
        for field in message_fields
    ]
    delivery_values = [
        field.get_db_prep_save(getattr(delivery, field.attname), connection)
        for field in delivery_fields
    ]
    messages = quote(OfficialAccountMessage._meta.db_table)
    deliveries = quote(CallbackDelivery._meta.db_table)
    # Only quoted identifiers from the models go into the text; every value is a parameter.
    sql = f"""
        WITH new AS (
            INSERT INTO {messages} ({", ".join(quote(str(f.column)) for f in message_fields)})
            VALUES ({", ".join(["%s"] * len(message_fields))})
            ON CONFLICT ON CONSTRAINT {quote(UNIQUE_KEY)} DO NOTHING
            RETURNING id
        ), found AS (
            -- At most one row: the statement's snapshot does not see the row it inserts, and
            -- it inserts none when one is there.
            SELECT id, TRUE AS created FROM new
            UNION ALL
            SELECT id, FALSE FROM {messages}
            WHERE sdk_app_id = %s AND official_account = %s AND msg_key = %s
        )
        INSERT INTO {deliveries} (
            {", ".join(quote(str(f.column)) for f in delivery_fields)}, message_id, outcome
        )
        SELECT {", ".join(["%s"] * len(delivery_fields))}, found.id,
               CASE WHEN found.created THEN 'accepted' ELSE 'duplicate' END
        FROM found
        RETURNING id, message_id, outcome
    """  # noqa: S608
    params = [
        *message_values,
        message.sdk_app_id,
        message.official_account,
        message.msg_key,
        *delivery_values,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    delivery.pk, delivery.message_id, delivery.outcome = row
    created = delivery.outcome == CallbackDelivery.Outcome.ACCEPTED
    message.pk = delivery.message_id
    message._state.adding, message._state.db = False, using
    delivery._state.adding, delivery._state.db = False, using
    if created:
        delivery.message = message
    return created

"""The storage seam's PostgreSQL path (webhook/store_pg.py): its parameters, and its statement
prepared when the database's OPTIONS ask for it."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from django.db import DataError, connection, transaction
from django.test import Client

from officialaccount_webhook.models import CallbackDelivery, OfficialAccount, OfficialAccountMessage
from officialaccount_webhook.webhook import store_pg
from officialaccount_webhook.webhook.events import parse_event
from officialaccount_webhook.webhook.inbound import InboundRequest
from officialaccount_webhook.webhook.ingest import new_message
from officialaccount_webhook.webhook.query import CallbackQuery
from officialaccount_webhook.webhook.records import new_delivery
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG
from tests.conftest import callback_query, element_samples, sample

pytestmark = pytest.mark.django_db
# The one-statement path, and the prepared statements, are PostgreSQL's.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="store_pg's path is PostgreSQL's; CI runs it there"
)


def _adapted(value: Any) -> Any:
    # psycopg's Jsonb wrapper has no equality of its own: compare what it wraps. An address
    # goes as text, which PostgreSQL reads as the inet column's value.
    if isinstance(value, IPv4Address | IPv6Address):
        return (str, str(value))
    return (type(value), getattr(value, "obj", value))


@pytest.mark.parametrize("remote_addr", ["127.0.0.1", "2001:db8::1", None])
@pytest.mark.parametrize("name", element_samples())
def test_parameters_are_what_the_orm_would_send(name: str, remote_addr: str | None) -> None:
    """``_db_value`` skips ``get_db_prep_save`` only where that changes nothing."""
    payload = sample(name)
    query = CallbackQuery.from_query_string(
        "&".join(f"{key}={value}" for key, value in callback_query().items())
    )
    request = InboundRequest(query=query, remote_addr=remote_addr)
    event = parse_event(payload["CallbackCommand"], payload)
    message = new_message(1400000000, event, request)  # type: ignore[arg-type]
    delivery = new_delivery(
        request, command=event.command, outcome="", sdk_app_id=1400000000, body=payload
    )
    account = OfficialAccount(sdk_app_id=1400000000, official_account=event.official_account)  # type: ignore[union-attr]
    message_fields, delivery_fields, account_fields = store_pg._fields()
    for instance, fields in (
        (message, message_fields),
        (delivery, delivery_fields),
        (account, account_fields),
    ):
        for field in fields:
            value = getattr(instance, field.attname)
            assert _adapted(store_pg._db_value(field, value, connection)) == _adapted(
                field.get_db_prep_save(value, connection)
            ), field.name


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def prepare_threshold(transactional_db: None) -> Any:
    """A fresh connection (none of its statements prepared yet) with psycopg's
    server_side_binding and prepare_threshold set as the database's OPTIONS would set them."""
    options = connection.settings_dict["OPTIONS"]
    before = dict(options)

    def set_threshold(threshold: int | None) -> None:
        options["server_side_binding"] = threshold is not None
        options["prepare_threshold"] = threshold
        connection.close()
        connection.ensure_connection()

    yield set_threshold
    options.clear()
    options.update(before)
    connection.close()


def _post_three(post_callback: Any, msg_keys: list[str]) -> None:
    for msg_key in msg_keys:
        assert post_callback(sample("text") | {"MsgKey": msg_key}).status_code == 200


@postgresql_only
def test_the_insert_is_prepared_when_the_database_options_allow_it(
    post_callback: Any, prepare_threshold: Any
) -> None:
    prepare_threshold(1)
    _post_three(post_callback, ["k1", "k2", "k1", "k2", "k1"])  # new ones, and duplicates
    assert [s for s in _prepared_statements() if "'accepted'" in s]


@postgresql_only
def test_the_insert_is_not_prepared_with_djangos_default(
    post_callback: Any, prepare_threshold: Any
) -> None:
    """Django binds parameters on the client by default (no server_side_binding), and so
    prepares nothing, for poolers that cannot keep prepared statements: the webhook follows
    that."""
    prepare_threshold(None)
    _post_three(post_callback, ["k1", "k2", "k3"])
    assert not [s for s in _prepared_statements() if "officialaccount_message_unique_key" in s]


def test_a_value_of_another_type_gets_the_orms_preparation() -> None:
    """Only a str in a text column, a bool in a boolean one, skip ``get_db_prep_save``."""
    text = OfficialAccountMessage._meta.get_field("opt_platform")
    flag = OfficialAccountMessage._meta.get_field("online_only")
    assert store_pg._db_value(text, True, connection) == "True"
    assert store_pg._db_value(flag, "1", connection) is True


@postgresql_only
def test_a_delivery_value_too_long_for_its_column_fails_instead_of_being_cut() -> None:
    payload = sample("text")
    # spool_record is at most 80 characters (the portable path stores drained records).
    request = InboundRequest(
        query=CallbackQuery.from_query_string(""), remote_addr=None, spool_record="x" * 200
    )
    event = parse_event(payload["CallbackCommand"], payload)
    message = new_message(1400000000, event, request)  # type: ignore[arg-type]
    delivery = new_delivery(request, command=AFTER_SEND_MSG, outcome="", sdk_app_id=1, body=payload)
    with pytest.raises(DataError), transaction.atomic():
        store_pg.store_message("default", message, delivery)


@postgresql_only
def test_a_duplicate_whose_message_goes_meanwhile_takes_the_portable_path(
    post_callback: Any,
) -> None:
    """The duplicate's lookup is a second statement: if the stored message is deleted between
    the two (a prune), it finds nothing, stores nothing, and the portable path stores the
    message again rather than losing the delivery."""
    post_callback(sample("text"))
    first = OfficialAccountMessage.objects.get()

    def prune_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "'duplicate'" in sql:
            OfficialAccountMessage.objects.filter(pk=first.pk).delete()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(prune_first):
        assert post_callback(sample("text")).status_code == 200
    second = OfficialAccountMessage.objects.get()
    assert second.pk != first.pk
    assert second.deliveries.get().outcome == CallbackDelivery.Outcome.ACCEPTED


@pytest.mark.parametrize(
    ("client_ip", "remote_addr"),
    [("203.0.113.7", "127.0.0.1"), ("2001:db8::7", "2001:db8::1"), ("", "")],
)
def test_addresses_are_stored_as_sent(post_callback: Any, client_ip: str, remote_addr: str) -> None:
    """Addresses go to PostgreSQL as text (``_db_value``); what is stored is the address."""
    query = callback_query() | {"ClientIP": client_ip}
    response = post_callback(sample("text"), query, client=Client(REMOTE_ADDR=remote_addr))
    assert response.status_code == 200
    message = OfficialAccountMessage.objects.get()
    assert message.client_ip == (client_ip or None)
    assert message.deliveries.get().remote_addr == (remote_addr or None)

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


def test_the_statement_stays_within_what_psycopg_keeps_converted() -> None:
    """psycopg converts a statement's placeholders once and keeps the result only for a
    statement of at most 50 parameters and 4096 bytes; past either it converts it again for
    every callback (a tenth of the webhook's throughput, bench/RESULTS.md)."""
    from psycopg import _queries  # the limits are psycopg's own; a change there fails here

    new, duplicate = store_pg._statements(connection.alias)
    message_fields, delivery_fields, account_fields = store_pg._fields()
    key = 3  # sdk_app_id, official_account, msg_key for the recall question
    for text, parameters in (
        (new, len(message_fields) + len(account_fields) + len(delivery_fields) + key),
        (duplicate, len(delivery_fields) + key),
    ):
        assert text.count("%s") == parameters
        assert parameters <= _queries.MAX_CACHED_STATEMENT_PARAMS
        assert len(text.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH


@postgresql_only
def test_a_new_accounts_row_is_the_one_the_orm_would_make(post_callback: Any) -> None:
    """The one statement makes an unknown account known with the message's key and time and
    the model's defaults: the row ``OfficialAccount(...).save()`` would make."""
    payload = sample("text") | {"Official_Account": "@TOA#_new_one", "MsgKey": "k_new_account"}
    assert post_callback(payload).status_code == 200
    message = OfficialAccountMessage.objects.get(msg_key="k_new_account")
    made = OfficialAccount.objects.get(official_account="@TOA#_new_one")
    expected = OfficialAccount(
        sdk_app_id=message.sdk_app_id,
        official_account=message.official_account,
        first_seen_at=message.received_at,
    )
    columns = [field.attname for field in OfficialAccount._meta.concrete_fields]
    assert {name: getattr(made, name) for name in columns if name != "id"} == {
        name: getattr(expected, name) for name in columns if name != "id"
    }


@postgresql_only
def test_a_default_computed_per_call_is_computed_for_each_new_account(post_callback: Any) -> None:
    """The account's defaults are worked out once per database, unless one is a callable: then
    each new account gets it computed again, as the ORM would."""
    field = OfficialAccount._meta.get_field("name")
    names = iter(["first", "second"])
    saved = field.default

    def forget() -> None:
        # Django keeps a field's default function once made (Field._get_default).
        field.__dict__.pop("_get_default", None)
        store_pg._account_defaults.cache_clear()

    field.default = lambda: next(names)
    forget()
    try:
        assert store_pg._account_defaults(connection.alias) is None
        for number in (1, 2):
            payload = sample("text") | {
                "Official_Account": f"@TOA#_{number}",
                "MsgKey": f"k{number}",
            }
            assert post_callback(payload).status_code == 200
    finally:
        field.default = saved
        forget()
    made = OfficialAccount.objects.filter(official_account__in=["@TOA#_1", "@TOA#_2"])
    assert sorted(made.values_list("name", flat=True)) == ["first", "second"]
    assert OfficialAccount._meta.get_field("name").get_default() == ""

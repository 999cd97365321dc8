"""Parsing ``OFFICIALACCOUNT_WEBHOOK``: every key checked, every mistake named."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..values import parse_sdk_app_id
from . import schema
from .schema import ModerationSettings, RestSettings, TencentApp, WebhookSettings


def parse_settings(raw: object) -> WebhookSettings:
    if raw is None:
        return WebhookSettings(apps={})
    if not isinstance(raw, Mapping):
        raise _error("", f"must be a dict, not {type(raw).__name__}")
    _reject_unknown_keys(raw, schema.TOP_LEVEL_KEYS, "")
    apps_raw = raw.get("APPS", {})
    if not isinstance(apps_raw, Mapping):
        raise _error("['APPS']", "must be a dict keyed by SDKAppID")
    apps: dict[int, TencentApp] = {}
    for key, app_raw in apps_raw.items():
        app = _parse_app(key, app_raw)
        if app.sdk_app_id in apps:
            raise _error(f"['APPS'][{key!r}]", "repeats an SDKAppID")
        apps[app.sdk_app_id] = app
    return WebhookSettings(
        apps=apps,
        request_time_skew=_int_setting(
            raw, "REQUEST_TIME_SKEW", schema.DEFAULT_REQUEST_TIME_SKEW, 0
        ),
        max_body_size=_int_setting(raw, "MAX_BODY_SIZE", schema.DEFAULT_MAX_BODY_SIZE, 1),
        spool_dir=_spool_dir(raw.get("SPOOL_DIR")),
        spool_max_attempts=_int_setting(
            raw, "SPOOL_MAX_ATTEMPTS", schema.DEFAULT_SPOOL_MAX_ATTEMPTS, 1
        ),
        delivery_retention_days=_int_setting(
            raw, "DELIVERY_RETENTION_DAYS", schema.DEFAULT_DELIVERY_RETENTION_DAYS, 0
        ),
        keep_other_command_bodies=_bool_setting(raw, "KEEP_OTHER_COMMAND_BODIES", False),
        other_command_body_retention_days=_int_setting(
            raw,
            "OTHER_COMMAND_BODY_RETENTION_DAYS",
            schema.DEFAULT_OTHER_COMMAND_BODY_RETENTION_DAYS,
            0,
        ),
        tombstone_retention_days=_int_setting(
            raw, "TOMBSTONE_RETENTION_DAYS", schema.DEFAULT_TOMBSTONE_RETENTION_DAYS, 0
        ),
        signal_mode=_signal_mode(raw.get("SIGNAL_MODE", schema.SIGNAL_MODE_ON_COMMIT)),
        task_backend=_name(raw, "TASK_BACKEND", schema.DEFAULT_TASK_BACKEND),
        task_queue=_name(raw, "TASK_QUEUE", schema.DEFAULT_TASK_QUEUE),
        trusted_proxies=_int_setting(raw, "TRUSTED_PROXIES", schema.DEFAULT_TRUSTED_PROXIES, 0),
        query_timeout=_positive_number(
            raw, "QUERY_TIMEOUT", schema.DEFAULT_QUERY_TIMEOUT, allow_zero=True
        ),
        detail_max_elements=_int_setting(
            raw, "DETAIL_MAX_ELEMENTS", schema.DEFAULT_DETAIL_MAX_ELEMENTS, 1
        ),
        recall_time_budget=_positive_number(
            raw, "RECALL_TIME_BUDGET", schema.DEFAULT_RECALL_TIME_BUDGET
        ),
        require_app_grants=_bool_setting(raw, "REQUIRE_APP_GRANTS", False),
        health_token=_string(raw, "HEALTH_TOKEN", "", ""),
        moderation=_moderation(raw),
        admin_image_hosts=_hosts(raw.get("ADMIN_IMAGE_HOSTS", ())),
        rest=RestSettings(
            rate_limit=_positive_number(raw, "REST_RATE_LIMIT", schema.DEFAULT_REST_RATE_LIMIT),
            connect_timeout=_positive_number(
                raw, "REST_CONNECT_TIMEOUT", schema.DEFAULT_REST_CONNECT_TIMEOUT
            ),
            read_timeout=_positive_number(
                raw, "REST_READ_TIMEOUT", schema.DEFAULT_REST_READ_TIMEOUT
            ),
            max_retries=_int_setting(raw, "REST_MAX_RETRIES", schema.DEFAULT_REST_MAX_RETRIES, 0),
            retry_backoff=_positive_number(
                raw, "REST_RETRY_BACKOFF", schema.DEFAULT_REST_RETRY_BACKOFF, allow_zero=True
            ),
        ),
    )


def _moderation(raw: Mapping[str, Any]) -> ModerationSettings:
    # Imported here: the moderation package reads these settings, so it loads after them.
    from ..elements import KNOWN_TYPES
    from ..moderation.commands import BEFORE_COMMANDS

    hooks_raw = raw.get("MODERATION_HOOKS", {})
    if not isinstance(hooks_raw, Mapping):
        raise _error("['MODERATION_HOOKS']", "must be a dict of before-command to dotted paths")
    hooks = {}
    for command, paths in hooks_raw.items():
        where = f"['MODERATION_HOOKS'][{command!r}]"
        if command not in BEFORE_COMMANDS:
            raise _error(where, f"is not a before-command; known: {', '.join(BEFORE_COMMANDS)}")
        hooks[command] = _strings(paths, where, "dotted paths of hook functions")
    fallback = raw.get("MODERATION_FALLBACK", "allow")
    if fallback not in schema.MODERATION_FALLBACKS:
        raise _error("['MODERATION_FALLBACK']", f"must be 'allow' or 'refuse', not {fallback!r}")
    types = raw.get("MODERATION_ELEMENT_TYPES")
    element_types = None
    if types is not None:
        element_types = _strings(types, "['MODERATION_ELEMENT_TYPES']", "MsgTypes")
        if unknown := sorted(set(element_types) - set(KNOWN_TYPES)):
            raise _error("['MODERATION_ELEMENT_TYPES']", f"unknown MsgType(s) {unknown}")
    return ModerationSettings(
        hooks=hooks,
        budget=_positive_number(raw, "MODERATION_BUDGET", schema.DEFAULT_MODERATION_BUDGET),
        fallback=str(fallback),
        dry_run=_bool_setting(raw, "MODERATION_DRY_RUN", False),
        workers=_int_setting(raw, "MODERATION_WORKERS", schema.DEFAULT_MODERATION_WORKERS, 1),
        blocked_words=_strings(
            raw.get("MODERATION_BLOCKED_WORDS", ()), "['MODERATION_BLOCKED_WORDS']", "words"
        ),
        max_message_bytes=_int_setting(
            raw, "MODERATION_MAX_MESSAGE_BYTES", schema.DEFAULT_MODERATION_MAX_MESSAGE_BYTES, 1
        ),
        element_types=element_types,
    )


def _strings(value: object, where: str, what: str) -> tuple[str, ...]:
    # A bare string is the likeliest slip: iterating it would make every character an item.
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _error(where, f"must be a list of {what}")
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise _error(where, "must hold only non-empty strings")
    return tuple(value)


def _hosts(value: object) -> tuple[str, ...]:
    where = "['ADMIN_IMAGE_HOSTS']"
    hosts = tuple(host.strip().lower() for host in _strings(value, where, "host names"))
    # A URL ("https://cdn.example.com/") is the likeliest slip, and would never match a host.
    if slips := [host for host in hosts if "/" in host or ":" in host]:
        raise _error(where, f"must hold host names such as 'cdn.example.com', not {slips}")
    return hosts


def _parse_app(key: object, raw: object) -> TencentApp:
    where = f"['APPS'][{key!r}]"
    sdk_app_id = _sdk_app_id(key, where)
    if not isinstance(raw, Mapping):
        raise _error(where, "must be a dict")
    _reject_unknown_keys(raw, schema.APP_KEYS, where)
    tokens = raw.get("CALLBACK_TOKENS", ())
    # A bare string is the most likely slip here; iterating it would make every character a token.
    if isinstance(tokens, str) or not isinstance(tokens, list | tuple):
        raise _error(f"{where}['CALLBACK_TOKENS']", "must be a list of strings")
    if not all(isinstance(token, str) and token for token in tokens):
        raise _error(f"{where}['CALLBACK_TOKENS']", "must hold only non-empty strings")
    return TencentApp(
        sdk_app_id=sdk_app_id,
        callback_tokens=tuple(tokens),
        accept_unsigned=_bool_setting(raw, "ACCEPT_UNSIGNED", False, where),
        allowed_networks=_networks(raw.get("ALLOWED_NETWORKS", ()), where),
        secret_key=_string(raw, "SECRET_KEY", "", where),
        admin_identifier=_string(raw, "ADMIN_IDENTIFIER", schema.DEFAULT_ADMIN_IDENTIFIER, where),
        region=_string(raw, "REGION", "", where),
        api_base_url=_string(raw, "API_BASE_URL", "", where),
    )


def _sdk_app_id(key: object, where: str) -> int:
    # Environment variables arrive as strings, so "1400000000" is as good as 1400000000.
    if isinstance(key, str):
        key = parse_sdk_app_id(key)
    if isinstance(key, bool) or not isinstance(key, int) or key <= 0:
        raise _error(where, "the key must be a positive integer SDKAppID")
    return key


def _string(raw: Mapping[str, Any], name: str, default: str, where: str) -> str:
    value = raw.get(name, default)
    if not isinstance(value, str):
        raise _error(f"{where}['{name}']", "must be a string")
    return value


def _int_setting(raw: Mapping[str, Any], name: str, default: int, minimum: int) -> int:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _error(f"['{name}']", f"must be an integer of at least {minimum}, got {value!r}")
    return value


def _bool_setting(raw: Mapping[str, Any], name: str, default: bool, where: str = "") -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise _error(f"{where}['{name}']", f"must be True or False, not {value!r}")
    return value


def _networks(value: object, where: str) -> tuple[IPv4Network | IPv6Network, ...]:
    where = f"{where}['ALLOWED_NETWORKS']"
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise _error(where, "must be a list of networks such as '203.0.113.0/24'")
    networks = []
    for item in value:
        if not isinstance(item, str):
            # ip_network(0) would be 0.0.0.0/32: a number is never meant as a network.
            raise _error(where, f"{item!r} is not a network such as '203.0.113.0/24'")
        try:
            # strict: '10.0.0.1/8' is more likely a typo than a network.
            networks.append(ip_network(item, strict=True))
        except (TypeError, ValueError) as error:
            raise _error(where, f"{item!r} is not a network: {error}") from None
    return tuple(networks)


def _signal_mode(value: object) -> str:
    if value not in schema.SIGNAL_MODES:
        choices = " or ".join(repr(mode) for mode in schema.SIGNAL_MODES)
        raise _error("['SIGNAL_MODE']", f"must be {choices}, not {value!r}")
    return str(value)


def _name(raw: Mapping[str, Any], name: str, default: str) -> str:
    value = _string(raw, name, default, "")
    if not value.strip():
        raise _error(f"['{name}']", "must not be empty")
    return value


def _spool_dir(value: object) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str | os.PathLike):
        raise _error("['SPOOL_DIR']", "must be a path")
    path = Path(value)
    if not path.is_absolute():
        raise _error("['SPOOL_DIR']", f"must be an absolute path, not {str(path)!r}")
    return path


def _positive_number(
    raw: Mapping[str, Any], name: str, default: float, *, allow_zero: bool = False
) -> float:
    value = raw.get(name, default)
    valid = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not valid or not (value >= 0 if allow_zero else value > 0):
        bound = "at least 0" if allow_zero else "greater than 0"
        raise _error(f"['{name}']", f"must be a number {bound}, got {value!r}")
    return float(value)


def _reject_unknown_keys(raw: Mapping[Any, Any], known: frozenset[str], where: str) -> None:
    # Unknown keys are almost always typos ("CALLBACK_TOKEN"); ignoring them would silently
    # switch authentication off.
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise _error(
            where, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def _error(where: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{schema.SETTINGS_NAME}{where}: {problem}")

"""Every command reads ``--sdkappid`` as the webhook reads an SdkAppid (``parse_sdk_app_id``),
and ``--since``/``--until`` as the REST API reads a moment: text they would refuse is refused on
the command line, with the argument's name and what is expected, in the active language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import CommandError, load_command_class
from django.utils import translation

import officialaccount_webhook.management.commands as commands_package
from officialaccount_webhook.management.arguments import moment

COMMANDS = sorted(
    path.stem
    for path in Path(commands_package.__file__).parent.glob("officialaccount_*.py")
    if 'options["sdkappid"]' in path.read_text()
)


def parse(command: str, *args: str) -> dict[str, object]:
    parser = load_command_class("officialaccount_webhook", command).create_parser(
        "manage.py", command
    )
    # The commands' other required arguments are not given: the SdkAppid is read first.
    return vars(parser.parse_known_args(list(args))[0])


def test_the_commands_with_an_sdkappid_are_found() -> None:
    assert len(COMMANDS) >= 9
    assert {"officialaccount_send", "officialaccount_recall", "officialaccount_sync"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("text", ["+1", " 1", "-5", "1_000", "١٢", "1" * 19, "0x10", ""])
def test_an_sdkappid_the_webhook_would_refuse_is_refused(command: str, text: str) -> None:
    expected = f"--sdkappid: {text!r} is not an SDKAppID: digits 0 to 9 only, at most 18"
    with pytest.raises(CommandError, match=re.escape(expected)):
        parse(command, "--sdkappid", text)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_sdkappid_of_digits_is_read_as_a_number(command: str) -> None:
    parser = load_command_class("officialaccount_webhook", command).create_parser(
        "manage.py", command
    )
    (action,) = [action for action in parser._actions if "--sdkappid" in action.option_strings]
    assert action.type is not None
    assert action.type("9" * 18) == 999_999_999_999_999_999


MOMENT_COMMANDS = sorted(
    path.stem
    for path in Path(commands_package.__file__).parent.glob("officialaccount_*.py")
    if "type=moment" in path.read_text()
)


def moment_options(command: str) -> list[str]:
    parser = load_command_class("officialaccount_webhook", command).create_parser(
        "manage.py", command
    )
    return [action.option_strings[0] for action in parser._actions if action.type is moment]


def test_the_commands_with_a_moment_are_found() -> None:
    assert {"officialaccount_export", "officialaccount_send"} <= set(MOMENT_COMMANDS)
    assert moment_options("officialaccount_replay") == ["--since", "--until"]


@pytest.mark.parametrize("command", MOMENT_COMMANDS)
@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "0001-01-01", "9999-12-31T12:00"])
def test_a_moment_the_api_would_refuse_is_refused(command: str, text: str) -> None:
    options = moment_options(command)
    assert options
    for option in options:
        expected = f"{option}: {text!r} is not a date or an ISO 8601 date and time"
        with pytest.raises(CommandError, match=re.escape(expected)):
            parse(command, option, text)


def test_the_refusal_is_in_the_active_language() -> None:
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        parse("officialaccount_gaps", "--sdkappid", "+1")
    assert "'+1'" in str(refused.value)
    assert "SDKAppID" in str(refused.value)
    assert "digits 0 to 9" not in str(refused.value)  # said in Chinese

"""Every command reads ``--sdkappid`` as the webhook reads an SdkAppid (``parse_sdk_app_id``):
text the webhook would refuse is refused on the command line, with the argument's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, load_command_class

import officialaccount_webhook.management.commands as commands_package

COMMANDS = sorted(
    path.stem
    for path in Path(commands_package.__file__).parent.glob("officialaccount_*.py")
    if "--sdkappid" in path.read_text()
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
    with pytest.raises(CommandError, match="--sdkappid: invalid sdk_app_id value"):
        parse(command, "--sdkappid", text)


@pytest.mark.parametrize("command", COMMANDS)
def test_an_sdkappid_of_digits_is_read_as_a_number(command: str) -> None:
    parser = load_command_class("officialaccount_webhook", command).create_parser(
        "manage.py", command
    )
    (action,) = [action for action in parser._actions if "--sdkappid" in action.option_strings]
    assert action.type is not None
    assert action.type("9" * 18) == 999_999_999_999_999_999

"""The base of the app's management commands: ``help`` shown in the active language.

A command's ``help`` is a class attribute, read before any language is chosen, so it stays
English in the class, marked with ``gettext_noop`` for the catalogue, and is translated when the
parser is built (``manage.py`` runs in the project's ``LANGUAGE_CODE``). ``help_values`` fill
its ``%(name)s`` placeholders. The arguments' help is translated in ``add_arguments``, which
also runs when the parser is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext


class TranslatedCommand(BaseCommand):
    help_values: ClassVar[Mapping[str, object]] = {}

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = gettext(self.help) % self.help_values if self.help else None
        return parser

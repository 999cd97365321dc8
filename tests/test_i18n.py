"""Translations: the Chinese catalogue is complete and current, and the admin speaks Chinese."""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import officialaccount_webhook
from officialaccount_webhook.models import OfficialAccountMessage
from tests.test_admin import create

PACKAGE = Path(officialaccount_webhook.__file__).parent
LOCALES = ("zh_Hans", "ja", "ko")
MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


@dataclass
class Entry:
    """One message of a .po file: what the sources say and what the translator wrote."""

    msgid: str = ""
    plural: str | None = None
    context: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.context, self.msgid, self.plural)


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header and obsolete (#~) entries left out.

    Small on purpose: gettext's own format, as makemessages writes it, needs no library."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] = ("", 0)

    def finish() -> None:
        if current is not None and current.msgid:
            entries.append(current)

    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            finish()
            current = None
            continue
        current = current or Entry()
        if line.startswith("#,"):
            current.fuzzy = current.fuzzy or "fuzzy" in line
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        text = ast.literal_eval(rest)
        if keyword == "msgctxt":
            current.context, target = text, ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid, target = text, ("msgid", 0)
        elif keyword == "msgid_plural":
            current.plural, target = text, ("msgid_plural", 0)
        elif keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if "[" in keyword else 0
            current.msgstr[index], target = text, ("msgstr", index)
        elif target[0] == "msgstr":
            current.msgstr[target[1]] += text
        elif target[0] == "msgid_plural":
            current.plural = (current.plural or "") + text
        elif target[0] == "msgctxt":
            current.context = (current.context or "") + text
        else:
            current.msgid += text
    return entries


def catalogue(locale: str) -> Path:
    return PACKAGE / "locale" / locale / "LC_MESSAGES" / "django.po"


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)[sd]", text))


# ------------------------------------------------------------------ the catalogues


def test_the_chinese_catalogue_translates_every_message() -> None:
    entries = parse_po(catalogue("zh_Hans"))
    assert len(entries) > 300  # the parser read the file, not an empty shell
    untranslated = [e.msgid for e in entries if not all(e.msgstr.values()) or not e.msgstr]
    fuzzy = [e.msgid for e in entries if e.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale: str) -> None:
    for entry in parse_po(catalogue(locale)):
        wanted = placeholders(entry.msgid) | placeholders(entry.plural or "")
        for translated in filter(None, entry.msgstr.values()):
            # A plural's only Chinese form may add %(counter)s that the English singular lacks.
            assert placeholders(translated) <= wanted, (entry.msgid, translated)
            assert placeholders(translated) >= placeholders(entry.msgid), (entry.msgid, translated)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_its_source(locale: str) -> None:
    """The .mo shipped in the wheel says what the .po says (compilemessages was run)."""
    with (catalogue(locale).with_suffix(".mo")).open("rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    for entry in parse_po(catalogue(locale)):
        if entry.context is not None or not entry.msgstr.get(0):
            continue
        if entry.plural is None:
            assert translations.gettext(entry.msgid) == entry.msgstr[0], entry.msgid
        else:
            assert translations.ngettext(entry.msgid, entry.plural, 1) == entry.msgstr[0]


def made_catalogue(
    tmp_path: Path, added: dict[str, str] | None = None
) -> set[tuple[str | None, str, str | None]]:
    """The keys makemessages finds in a copy of the sources, with ``added`` (a module's path in
    the package: a line of Python) appended to those modules first."""
    copy = tmp_path / "officialaccount_webhook"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "static"))
    for module, line in (added or {}).items():
        with (copy / module).open("a", encoding="utf-8") as source:
            source.write(f"\n{line}\n")
    (copy / "locale").mkdir()
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )
    made = copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    return {entry.key for entry in parse_po(made)}


def test_the_chinese_catalogue_holds_every_string_of_the_sources(tmp_path: Path) -> None:
    """makemessages on a copy of the sources finds no message the catalogue lacks, and the
    catalogue holds none the sources dropped: a new _("…") fails here until it is translated."""
    fresh = made_catalogue(tmp_path)
    shipped = {entry.key for entry in parse_po(catalogue("zh_Hans"))}
    assert len(fresh) > 300
    assert sorted(map(str, fresh - shipped)) == [], "run makemessages and translate these"
    assert sorted(map(str, shipped - fresh)) == [], "these are no longer in the sources"


def test_a_new_string_of_the_api_the_checks_or_a_command_is_found(tmp_path: Path) -> None:
    """The test above reads more than the admin: each way these modules mark a string (gettext
    and gettext_lazy as _, gettext_noop for a command's help) reaches the catalogue."""
    added = {
        "api/params.py": 'PROBE = gettext_lazy("A new API error.")',
        "checks.py": 'PROBE = _("A new system check.")',
        "management/commands/officialaccount_gaps.py": 'PROBE = gettext_noop("A new help.")',
    }
    fresh = made_catalogue(tmp_path, added)
    assert {msgid for _, msgid, _ in fresh} >= {
        "A new API error.",
        "A new system check.",
        "A new help.",
    }


# ------------------------------------------------------------------ the Chinese admin


@pytest.fixture
def message(db: None) -> OfficialAccountMessage:
    return create("key-1", when=datetime(2026, 3, 1, 8, 0, tzinfo=UTC), account="@TOA#_shop")


def test_the_message_list_its_filters_and_actions_speak_chinese(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    page = admin_client.get(reverse(MESSAGES), **CHINESE).text
    assert '<html lang="zh-hans"' in page
    # The list's columns.
    assert "公众号 · MsgKey" in page and "内容" in page
    # The filters: the typed one's help and button, and the titles. The button's word and the
    # "By …" come from Django admin's own catalogue, which answers first for the msgids it has.
    assert "完整精确匹配，区分大小写。" in page  # noqa: RUF001
    assert re.search(r'<button type="submit" class="button">[^<\x00-\x7f]+</button>', page)
    assert '<details data-filter-title="元素类型"' in page
    assert '<details data-filter-title="公众号"' in page
    # The actions.
    assert "撤回所选消息" in page
    assert "将所选消息导出为 CSV" in page
    assert "Recall selected messages" not in page


def test_the_message_detail_speaks_chinese(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    page = admin_client.get(url, **CHINESE).text
    assert "原始 JSON" in page  # a section of the page
    assert "消息时间" in page  # a field's label
    assert "投递此消息的回调" in page
    assert "Raw JSON" not in page


def test_without_the_header_the_admin_stays_english(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    page = admin_client.get(reverse(MESSAGES)).text
    assert "Recall selected messages" in page
    assert "撤回所选消息" not in page

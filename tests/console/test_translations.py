"""The Chinese catalog is complete and compiled
(``python -m jifen.platform.shell.console.translate``)."""

from __future__ import annotations

from io import BytesIO

from babel.messages.mofile import write_mo

from jifen.platform.shell.console import translate


def test_every_console_message_has_a_chinese_translation():
    catalog = translate.load("zh_Hans_CN")
    missing = [m.id for m in translate.extract() if m.id and not catalog.get(m.id, m.context)]
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert missing == [] and untranslated == []


def test_the_compiled_catalog_matches_its_source():
    compiled = BytesIO()
    write_mo(compiled, translate.load("zh_Hans_CN"))
    mo = translate.po_path("zh_Hans_CN").with_suffix(".mo").read_bytes()
    assert compiled.getvalue() == mo, "run python -m jifen.platform.shell.console.translate"

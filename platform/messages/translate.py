"""Refresh the message templates' catalog: ``python -m jifen.platform.messages.translate``.

Extracts the ``{% trans %}`` strings of ``templates/messages/*.txt`` (Babel's Jinja
extractor), merges them into the Chinese ``messages.po`` (new strings start
untranslated) and compiles ``messages.mo``, which ``rendering`` reads at run time. A test
fails while a string has no translation or the ``.mo`` is older than its ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
TRANSLATIONS = HERE / "translations"
LANGUAGE = "zh_Hans_CN"
METHODS = [("templates/**.txt", "jinja2")]


def extract() -> Catalog:
    template = Catalog(project="jifen-messages")
    for filename, lineno, message, comments, context in extract_from_dir(str(HERE), METHODS):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(language: str = LANGUAGE) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def load(language: str = LANGUAGE) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def compile_catalog(language: str = LANGUAGE) -> None:
    catalog = load(language)
    with po_path(language).with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)


def update(language: str = LANGUAGE) -> list[str]:
    """Merge the extracted strings into ``language``'s catalog and compile it; returns
    the strings still untranslated."""
    catalog = load(language) if po_path(language).exists() else Catalog(locale=language)
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.project, catalog.version, catalog.fuzzy = "jifen-messages", "1", False
    catalog.msgid_bugs_address = catalog.last_translator = ""
    with po_path(language).open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, no_location=True)
    compile_catalog(language)
    return untranslated(catalog)


def untranslated(catalog: Catalog) -> list:
    """The ids of messages without a translation (for a plural: without every form)."""
    return [m.id for m in catalog if m.id and not translated(m.string)]


def translated(string: str | tuple | None) -> bool:
    if isinstance(string, tuple | list):
        return bool(string) and all(string)
    return bool(string)


if __name__ == "__main__":
    missing = update()
    print("\n".join(f"untranslated: {m}" for m in missing) or "all messages translated")

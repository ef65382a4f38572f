"""Refresh the console's message catalogs: ``python -m jifen.platform.shell.console.translate``.

Extracts the messages of the Python modules and templates here (Babel), merges them
into each language's ``messages.po`` (new messages start untranslated) and compiles
``messages.mo``, which Flask-Babel reads at run time. A test fails while a message has
no translation or a ``.mo`` is older than its ``.po``.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
TRANSLATIONS = HERE / "translations"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None}


def extract() -> Catalog:
    template = Catalog(project="jifen-console")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(HERE), METHODS, keywords=KEYWORDS, options_map={"**.html": {}}
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def load(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def compile_catalog(language: str) -> None:
    catalog = load(language)
    with po_path(language).with_suffix(".mo").open("wb") as handle:
        write_mo(handle, catalog)


def update(language: str = "zh_Hans_CN") -> list[str]:
    """Merge the extracted messages into ``language``'s catalog and compile it; returns
    the messages still untranslated."""
    catalog = load(language) if po_path(language).exists() else Catalog(locale=language)
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.project, catalog.version, catalog.fuzzy = "jifen-console", "1", False
    catalog.msgid_bugs_address = catalog.last_translator = ""
    with po_path(language).open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, no_location=True)
    compile_catalog(language)
    return [m.id for m in catalog if m.id and not m.string]


if __name__ == "__main__":
    missing = update()
    print("\n".join(f"untranslated: {m}" for m in missing) or "all messages translated")

"""Render a message template in the recipient's language (English or Simplified Chinese).

The choice: Jinja text templates (``templates/messages/<name>.txt``), each with three
blocks — ``subject`` and ``body`` for email, ``sms`` for a text message — whose prose is
in ``{% trans %}`` blocks. The Chinese strings live in this package's own gettext
catalog (``translations/zh_Hans_CN/LC_MESSAGES/messages.po``, compiled to ``.mo`` by
``python -m jifen.platform.messages.translate``), read through a Flask-Babel ``Domain``
of its own: the console's catalog and this one never mix, and the app's Babel settings
need no change. ``flask_babel.force_locale`` selects the language while rendering, so
rendering needs an app context (every request and every job has one).

Locales: ``en`` and ``zh-CN``. ``normalize_locale`` reads any ``en…`` tag as ``en`` and
everything else (``zh``, ``zh_CN``, ``zh-Hans``, unknown tags, None) as ``zh-CN``: Jifen's
people are in mainland China first, so Chinese is the safe default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from flask import has_app_context
from flask_babel import Domain, force_locale

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
TRANSLATIONS = HERE / "translations"
NAMES = ("holder_code", "wallet_link", "staff_invitation")
BABEL_LOCALES = {"en": "en", "zh-CN": "zh_Hans_CN"}

domain = Domain(translation_directories=[str(TRANSLATIONS)], domain="messages")


def _gettext(message: str) -> str:
    return domain.get_translations().ugettext(message)


def _ngettext(singular: str, plural: str, number: int) -> str:
    return domain.get_translations().ungettext(singular, plural, number)


environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,  # a missing context value is an error, not a blank
    autoescape=False,  # plain text, never HTML
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Rendered:
    subject: str | None  # email only
    body: str


def normalize_locale(value: str | None) -> str:
    """``en`` or ``zh-CN`` (see the module docstring)."""
    tag = (value or "").strip().replace("_", "-").lower()
    return "en" if tag == "en" or tag.startswith("en-") else "zh-CN"


def render(name: str, locale: str, channel: str, context: dict[str, Any]) -> Rendered:
    """The subject and body of template ``name`` for ``channel`` (``email``: subject and
    body; ``sms``: the short text) in ``locale``.

    Raises ValueError for an unknown template or channel, jinja2.UndefinedError when the
    context lacks a value the template uses, RuntimeError outside an app context."""
    if name not in NAMES:
        raise ValueError(f"unknown message template {name!r}")
    if channel not in ("email", "sms"):
        raise ValueError(f"unknown channel {channel!r}")
    if not has_app_context():
        raise RuntimeError("rendering a message needs an app context")
    template = environment.get_template(f"messages/{name}.txt")
    with force_locale(BABEL_LOCALES[normalize_locale(locale)]):
        if channel == "sms":
            return Rendered(None, " ".join(_block(template, "sms", context).split()))
        subject = " ".join(_block(template, "subject", context).split())
        return Rendered(subject, _block(template, "body", context).strip() + "\n")


def _block(template: jinja2.Template, block: str, context: dict[str, Any]) -> str:
    return "".join(template.blocks[block](template.new_context(dict(context))))

"""Languages of the consoles (zh-CN and en, Flask-Babel) and locale-aware formatting.

The language is the ``console_lang`` cookie set by the switch in the page header, else
the best match of ``Accept-Language``, else English. Money is stored as integer minor
units (API.md); ``money`` turns it into major units with the currency's own precision
before Babel formats it (35800 CNY -> "¥358.00" / "CN¥358.00"). Dates are shown in the
tenant's time zone.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, g, request
from flask_babel import Babel, get_locale, refresh

LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LANGUAGE = "en"
COOKIE = "console_lang"
TRANSLATIONS = Path(__file__).parent / "translations"


def select_language() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    match = request.accept_languages.best_match(["en", "zh_CN", "zh"])
    if match == "zh":
        return "zh_CN"
    return match or DEFAULT_LANGUAGE


def init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_language)
    app.jinja_env.filters.update(
        money=money, points=points, spu=spu, datetime=format_when, percent=percent
    )


def forget_cached_locale() -> None:
    """``before_request``: Flask-Babel caches the locale on ``g``, which lives as long as
    the app context; where one app context serves many requests (tests, a live server in
    a thread) each console request must choose its language again."""
    if request.path.startswith("/console"):
        refresh()


def locale() -> str:
    """Babel's name of the page's locale (``zh_Hans_CN`` for zh-CN: its catalog's folder)."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def language() -> str:
    """The page's language as the switch names it: ``en`` or ``zh_CN``."""
    current = get_locale()
    return "zh_CN" if current is not None and current.language == "zh" else "en"


def money(minor: int, currency: str) -> str:
    """Integer minor units -> the locale's currency format, exactly (no floats)."""
    digits = babel_numbers.get_currency_precision(currency)
    return babel_numbers.format_currency(Decimal(minor).scaleb(-digits), currency, locale=locale())


def points(value: int) -> str:
    return babel_numbers.format_decimal(value, locale=locale())


def spu(micro: int) -> str:
    """µSPU -> SPU in the locale's number format, exactly (up to six places)."""
    return babel_numbers.format_decimal(
        Decimal(micro).scaleb(-6), "#,##0.######", locale=locale(), decimal_quantization=False
    )


def percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return babel_numbers.format_percent(value, "#,##0.0%", locale=locale())


def format_when(value: datetime | None, time_zone: str | None = None) -> str:
    if value is None:
        return "—"
    zone = ZoneInfo(time_zone or g.get("console_time_zone") or "UTC")
    return babel_dates.format_datetime(value, "medium", tzinfo=zone, locale=locale())

"""The standard point unit (标准积分, SPU) in which clearing records carry value.

An SPU amount is an integer number of micro-SPU (1 SPU = 1,000,000 µSPU), and a rate is
the µSPU value of one point (exchange/pricing.py has the rest of the arithmetic).

The rate of each currency is the exchange's to set, but areas below it need to read it
(an alliance values the points it clears; a member's wallet shows their SPU value). The
app carries the lookup: the composition root installs the exchange's with
``install_spu_rates``, and ``spu_rate`` asks it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from sqlalchemy.orm import Session

MICRO = 1_000_000
"""µSPU per SPU: SPU amounts and rates carry six decimal places."""

SpuRateLookup = Callable[[Session, str], "int | None"]
"""``(session, currency code) -> µSPU per point``, or None for a currency not priced."""

_EXTENSION = "jifen.spu_rates"


def format_spu(micro: int) -> str:
    """µSPU as the shortest exact decimal string: 800000 -> "0.8", 16000000 -> "16"."""
    sign = "-" if micro < 0 else ""
    whole, fraction = divmod(abs(micro), MICRO)
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:06d}".rstrip("0")


def value_of(points: int, rate: int) -> int:
    """The µSPU value of ``points`` at ``rate`` µSPU per point (exact)."""
    return points * rate


def install_spu_rates(app: Flask, lookup: SpuRateLookup) -> None:
    """Make ``lookup`` the app's source of SPU rates."""
    app.extensions[_EXTENSION] = lookup


def spu_rate(session: Session, currency_code: str) -> int | None:
    """The µSPU value of one point of ``currency_code``; None if it is not priced.

    Raises RuntimeError outside an app, or in one whose rates were never installed.
    """
    lookup = current_app.extensions.get(_EXTENSION)
    if lookup is None:
        raise RuntimeError("This app has no SPU rates: install_spu_rates was not called.")
    return lookup(session, currency_code)

"""Card numbers of the universal points card (通用积分卡): pure functions, no database.

A card number is 16 ASCII digits: the issuer prefix ``88``, 13 random digits drawn with
``secrets`` and a Luhn check digit (ISO/IEC 7812-1), so a mistyped digit or two swapped
neighbours are caught before any lookup. 10**13 random bodies make a number hard to guess;
uniqueness is guaranteed by the database, and an issuer retries on the rare collision.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

ISSUER_PREFIX = "88"
LENGTH = 16
_DIGITS = re.compile(r"[0-9]+")
_SEPARATORS = re.compile(r"[ -]")


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit that, appended to ``payload``, makes a valid number.

    Raises ValueError unless ``payload`` is a non-empty string of ASCII digits.
    """
    if not _DIGITS.fullmatch(payload):
        raise ValueError("a Luhn payload is a string of ASCII digits")
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # the check digit will take position 0, so these double
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str(-total % 10)


def is_valid_card_number(number: str) -> bool:
    """True when ``number`` is 16 ASCII digits ending in the right Luhn check digit."""
    if not isinstance(number, str) or len(number) != LENGTH or not _DIGITS.fullmatch(number):
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def normalise_card_number(text: str) -> str:
    """The number as stored: people write ``8800 1234 …`` or ``8800-1234-…``."""
    return _SEPARATORS.sub("", text.strip())


def new_card_number(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh, valid card number; ``randbelow`` is injectable for tests."""
    body_length = LENGTH - len(ISSUER_PREFIX) - 1
    payload = ISSUER_PREFIX + f"{randbelow(10**body_length):0{body_length}d}"
    return payload + luhn_check_digit(payload)

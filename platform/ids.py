"""Prefixed random ids (``ten_…``, ``mem_…``), the way Stripe names objects.

The random part is 20 characters of base62 from ``secrets`` (about 119 bits), so ids are
not guessable and never reveal order or volume.
"""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 20


_IDS = len(_ALPHABET) ** RANDOM_LENGTH


def new_id(prefix: str) -> str:
    # One draw from the whole id space written in base62: as uniform as a draw per
    # character, for one call to the system's random source instead of twenty.
    number = secrets.randbelow(_IDS)
    characters = []
    for _ in range(RANDOM_LENGTH):
        number, digit = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(characters)


def has_prefix(value: str, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix + "_")

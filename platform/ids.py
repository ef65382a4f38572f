"""Prefixed random ids (``ten_…``, ``mem_…``), the way Stripe names objects.

The random part is 20 characters of base62 from ``secrets`` (about 119 bits), so ids are
not guessable and never reveal order or volume.
"""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 20


def new_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(RANDOM_LENGTH))


def has_prefix(value: str, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix + "_")

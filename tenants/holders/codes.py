"""One-time codes of card holders: pure functions, no database.

Codes are short (6 digits for a sign-in code a person types, 18 for a counter code read
off a phone), so a plain hash of one could be reversed by trying every code. They are
kept as an HMAC-SHA256 under the app's secret key instead, bound to their purpose (and a
sign-in code to its card), and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

SIGN_IN_DIGITS = 6
COUNTER_DIGITS = 18


def new_code(digits: int, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """``digits`` random decimal digits (leading zeros kept)."""
    return f"{randbelow(10**digits):0{digits}d}"


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def digest(key: str, purpose: str, code: str, card_id: str = "") -> str:
    message = f"{purpose}\x1f{card_id}\x1f{code}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def normalise_code(text: object) -> str | None:
    """A code as typed (spaces and dashes allowed) or None when it cannot be one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    code = text.replace(" ", "").replace("-", "")
    return code if code.isascii() and code.isdigit() else None

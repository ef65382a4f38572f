"""The lottery's pure rules: commitment, outcome, odds. No Flask, no session, no clock.

Commit and reveal. A lottery is created with a random 32-byte server seed; its SHA-256
(``seed_hash``) is published at once, before any draw. Once the lottery closes, the seed
itself is published, and anyone can check ``sha256(seed) == seed_hash`` and recompute
every draw.

Outcome of a draw::

    digest = HMAC-SHA256(key = seed bytes, message = f"{draw_id}:{member_id}")
    roll   = int.from_bytes(digest[:8], "big") % total_weight
    prize  = the first prize (in published order) whose cumulative weight exceeds roll

The 64-bit number leaves a modulo bias below total_weight / 2**64 (under 1e-12 for any
weight total we accept). Draw ids are not random: the n-th draw of lottery ``ltr_X`` is
``ldr_X`` + n in six digits, so the server cannot try ids until it likes an outcome, and
the contiguous numbers show that no draw is missing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

MAX_TOTAL_WEIGHT = 1_000_000_000
ROLL_BYTES = 8


def seed_hash(seed_hex: str) -> str:
    """The published commitment: SHA-256 of the seed's bytes, hex."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


def draw_id(lottery_id: str, sequence: int) -> str:
    """The id of the ``sequence``-th draw (1-based) of ``lottery_id``."""
    return f"ldr_{lottery_id.split('_', 1)[1]}{sequence:06d}"


def digest(seed_hex: str, draw: str, member_id: str) -> str:
    message = f"{draw}:{member_id}".encode()
    return hmac.new(bytes.fromhex(seed_hex), message, hashlib.sha256).hexdigest()


def roll(seed_hex: str, draw: str, member_id: str, total_weight: int) -> int:
    """A number in ``[0, total_weight)`` fixed by the seed, the draw and the member."""
    if total_weight <= 0:
        raise ValueError("total weight must be positive")
    value = int.from_bytes(bytes.fromhex(digest(seed_hex, draw, member_id))[:ROLL_BYTES], "big")
    return value % total_weight


def pick(weights: list[int], rolled: int) -> int:
    """The index of the prize ``rolled`` lands on (cumulative weights, in order)."""
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if rolled < running:
            return index
    raise ValueError("roll beyond the total weight")


def outcome(seed_hex: str, draw: str, member_id: str, weights: list[int]) -> tuple[int, int]:
    """``(roll, prize index)`` of one draw."""
    rolled = roll(seed_hex, draw, member_id, sum(weights))
    return rolled, pick(weights, rolled)


@dataclass(frozen=True)
class Odds:
    weight: int
    probability: Decimal  # weight / total, 6 places, half-even (display only)


def odds(weights: list[int]) -> list[Odds]:
    """Each prize's share of the total weight, for the public odds table."""
    total = sum(weights)
    return [
        Odds(w, (Decimal(w) / Decimal(total)).quantize(Decimal("0.000001"), ROUND_HALF_EVEN))
        for w in weights
    ]


def check_prizes(prizes: list[dict]) -> str | None:
    """None if the prize table can be published, else the problem (for a 422)."""
    if not prizes:
        return "A lottery needs at least one prize."
    if any(p["weight"] < 1 for p in prizes):
        return "Every weight must be at least 1."
    if sum(p["weight"] for p in prizes) > MAX_TOTAL_WEIGHT:
        return f"The weights may add up to at most {MAX_TOTAL_WEIGHT}."
    return None

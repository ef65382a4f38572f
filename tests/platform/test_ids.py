"""Prefixed random ids."""

from __future__ import annotations

import string

from jifen.platform.ids import RANDOM_LENGTH, has_prefix, new_id

BASE62 = set(string.ascii_letters + string.digits)


def test_ids_are_the_prefix_and_twenty_base62_characters():
    ids = [new_id("txn") for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        prefix, random_part = value.split("_")
        assert prefix == "txn" and has_prefix(value, "txn")
        assert len(random_part) == RANDOM_LENGTH and set(random_part) <= BASE62


def test_every_position_uses_the_whole_alphabet():
    # 5,000 draws put each character ~80 times in each position; missing one is a bug
    # (e.g. a biased or truncated conversion), not chance (probability below 1e-30).
    ids = [new_id("x")[2:] for _ in range(5000)]
    for position in range(RANDOM_LENGTH):
        assert {value[position] for value in ids} == BASE62

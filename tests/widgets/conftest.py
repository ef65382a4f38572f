"""Fixtures for the widgets: two merchants in the exchange, one card with points in
the first (a member token for it), a reward with codes, and the first merchant's widget
origins registered (see ``widgets_support``).

Every test here ends with the ledger audit clean (``audited`` is autouse).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from widgets_support import MERCHANT_ORIGIN, World, build_world  # noqa: E402


@pytest.fixture(autouse=True)
def audited(app):
    yield
    from jifen.platform.audit import run_all

    assert {name: found for name, found in run_all().items() if found} == {}


@pytest.fixture
def world(client, api) -> World:
    return build_world(client, api, origins=[MERCHANT_ORIGIN])

"""Fixtures for the ledger's tests: a fresh tenant per test and its ``Books``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from ledger_support import Books, new_tenant  # noqa: E402


@pytest.fixture
def books(app) -> Books:
    """A new tenant's ledger; the test fails if any ledger invariant is broken after it."""
    tenant_id, asset = new_tenant()
    books = Books(tenant_id, asset)
    yield books
    books.assert_clean()

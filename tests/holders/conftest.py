"""Card holders: every test ends with the ledger and exchange audit clean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def audited(app):
    from jifen.platform.audit import run_all

    yield
    assert {name: found for name, found in run_all().items() if found} == {}

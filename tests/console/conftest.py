"""Console tests: their helpers live beside them (``console_helpers``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))


@pytest.fixture(scope="session")
def webhook_url():
    """A receiver that answers 200, so the deliveries console tests make end succeeded
    (never left pending for the platform-wide relay other tests count)."""
    from webhook_receiver import start_receiver

    receiver, stop = start_receiver()
    yield receiver.url
    stop()

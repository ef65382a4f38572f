"""Console tests: their helpers live beside them (``console_helpers``). ``shop`` (a
merchant with staff in every role) and ``owner`` (its owner, signed in) serve most
modules; browser modules define their own, module-scoped."""

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


@pytest.fixture
def shop(client, webhook_url):
    from console_helpers import open_shop

    return open_shop(client, webhook_url)


@pytest.fixture
def owner(client, shop):
    from console_helpers import Console

    browser = Console(client)
    browser.login(shop.owner_email)
    return browser

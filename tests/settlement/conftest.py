"""Settlement fixtures: tenants in the exchange with clearing records between them (made
over HTTP by real swaps and acceptance captures), two platform operators (one closes, the
other approves), settings switches, and a small Stripe-compatible server for Connect.

Batches are platform-wide and the test database is shared, so every batch also holds
other tests' clearing records: tests assert on the positions of their own new tenants,
and on totals that must hold whatever else is in the batch.

Stripe: ``stripe_on`` points the app at the suite's own Stripe-compatible server
(``fake_stripe.py``: Connect, invoices, faults), ``localstripe_on`` at localstripe run as a
process (``tests/stripe_servers.py``: customers, payment methods, payment intents). Both
switch on Stripe webhooks with ``stripe_servers.WEBHOOK_SECRET``.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from fake_stripe import FakeStripe  # noqa: E402
from settlement_support import (  # noqa: E402
    Settlement,
    audit_problems,
    connect,
    open_settlement,
    set_payer,
)
from stripe_servers import WEBHOOK_SECRET, localstripe  # noqa: E402, F401 (a fixture)


@pytest.fixture(autouse=True)
def audited(app):
    yield
    assert audit_problems() == {}


@pytest.fixture
def settlement(api) -> Settlement:
    return open_settlement(api)


@pytest.fixture
def app_config(app, monkeypatch):
    """Switch settings for this test only: ``app_config(stripe_api_key=...)``."""

    def switch(**changes):
        current = app.extensions["jifen.config"]
        monkeypatch.setitem(app.extensions, "jifen.config", replace(current, **changes))
        return app.extensions["jifen.config"]

    return switch


@pytest.fixture
def fake_stripe():
    server = FakeStripe()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_on(app_config, fake_stripe) -> FakeStripe:
    app_config(
        stripe_api_key="sk_test_settlement",
        stripe_api_base=fake_stripe.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )
    return fake_stripe


@pytest.fixture
def localstripe_on(app_config, localstripe) -> str:  # noqa: F811 (the imported fixture)
    from stripe_servers import API_KEY

    app_config(
        stripe_api_key=API_KEY, stripe_api_base=localstripe, stripe_webhook_secret=WEBHOOK_SECRET
    )
    return localstripe


@pytest.fixture
def approved(settlement, stripe_on):
    """A batch where A and C owe B: B has a Connect account, A and C saved cards."""
    a, b, c = settlement.tenant("0.8"), settlement.tenant("1.5"), settlement.tenant("1")
    connect(settlement, stripe_on, b)
    for payer in (a, c):
        set_payer(settlement, stripe_on, payer)
    settlement.swap(settlement.card(a), a, b, 1000)
    settlement.swap(settlement.card(c), c, b, 500)
    batch = settlement.closed()
    assert settlement.approve(batch["id"]).status_code == 200
    return batch, a, b, c

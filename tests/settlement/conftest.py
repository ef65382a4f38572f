"""Settlement fixtures: tenants in the exchange with clearing records between them (made
over HTTP by real swaps and acceptance captures), two platform operators (one closes, the
other approves), settings switches, and a small Stripe-compatible server for Connect.

Batches are platform-wide and the test database is shared, so every batch also holds
other tests' clearing records: tests assert on the positions of their own new tenants,
and on totals that must hold whatever else is in the batch.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from fake_stripe import FakeStripe  # noqa: E402
from settlement_support import FEES, Operator, Settlement, audit_problems  # noqa: E402


@pytest.fixture(autouse=True)
def audited(app):
    yield
    assert audit_problems() == {}


@pytest.fixture
def settlement(api, client) -> Settlement:
    admin = api.platform_token("platform:admin")
    response = client.put(
        "/v1/platform/exchange/fees", json=FEES, headers={"Authorization": f"Bearer {admin}"}
    )
    assert response.status_code == 200, response.get_json()
    helper = Settlement(api, Operator(api.platform_token()), Operator(api.platform_token()))
    helper.settings("1")
    return helper


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
    app_config(stripe_api_key="sk_test_settlement", stripe_api_base=fake_stripe.url)
    return fake_stripe

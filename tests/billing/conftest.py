"""Billing fixtures: localstripe as a separate process (``tests/stripe_servers.py``,
shared with settlement), Stripe settings switched on for one test at a time, and signed
Stripe webhook deliveries.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))

from billing_support import API_KEY, WEBHOOK_SECRET  # noqa: E402
from stripe_servers import localstripe  # noqa: E402, F401 (a fixture)


@pytest.fixture
def billing_config(app, monkeypatch):
    """Switch settings for this test only: ``billing_config(stripe_api_key=...)``."""

    def switch(**changes):
        current = app.extensions["jifen.config"]
        monkeypatch.setitem(app.extensions, "jifen.config", replace(current, **changes))
        monkeypatch.delitem(app.extensions, "jifen.rate_counter", raising=False)
        return app.extensions["jifen.config"]

    return switch


@pytest.fixture
def stripe_mode(billing_config, localstripe):  # noqa: F811 (the imported fixture)
    """Billing talks to localstripe; paid plans start without a trial unless changed."""
    return billing_config(
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe,
        stripe_webhook_secret=WEBHOOK_SECRET,
        billing_trial_days=14,
    )


@pytest.fixture
def stripe_client(localstripe):  # noqa: F811 (the imported fixture)
    import stripe

    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe})

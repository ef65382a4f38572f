"""Billing fixtures: localstripe as a separate process, Stripe settings switched on for
one test at a time, and signed Stripe webhook deliveries.

localstripe (GPL-3.0) is never vendored: it is installed from PyPI into its own
virtualenv under /tmp (or ``JIFEN_LOCALSTRIPE_PYTHON`` names a Python that has it) and
run on a free loopback port for the test session. Tests that need it are skipped, with
the reason, only when it cannot be installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import requests

sys.path.append(str(Path(__file__).parent))

from billing_support import API_KEY, WEBHOOK_SECRET  # noqa: E402

HERE = Path(__file__).parent
LOCALSTRIPE = "localstripe==1.15.10"
VENV = Path("/tmp/jifen-localstripe-venv")


def _localstripe_python() -> Path:
    """A Python that can import localstripe, installing it on first use."""
    named = os.environ.get("JIFEN_LOCALSTRIPE_PYTHON")
    if named:
        return Path(named)
    python = VENV / "bin" / "python"
    with open("/tmp/jifen-localstripe.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        check = [str(python), "-c", "import localstripe, aiohttp"]
        if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", LOCALSTRIPE],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return python


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe():
    """The base URL of a localstripe server that lives for the session."""
    try:
        python = _localstripe_python()
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"localstripe could not be installed from PyPI: {error}")
    port = _free_port()
    process = subprocess.Popen(
        [str(python), str(HERE / "run_localstripe.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"localstripe exited: {process.stderr.read().decode()[-2000:]}")
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{base}/v1/customers", auth=(API_KEY, ""), timeout=2)
                break
            if time.monotonic() > deadline:
                pytest.fail("localstripe did not start within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
def stripe_mode(billing_config, localstripe):
    """Billing talks to localstripe; paid plans start without a trial unless changed."""
    return billing_config(
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe,
        stripe_webhook_secret=WEBHOOK_SECRET,
        billing_trial_days=14,
    )


@pytest.fixture
def stripe_client(localstripe):
    import stripe

    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe})
